"""The whole system on 127.0.0.1 without Docker: broker, topics, Alertmanager, API, consumer, producer, a steady
client of the API, the drift job and Prometheus.

`LocalStack(settings).start()` brings everything up in dependency order and waits for each part to be ready;
`stop()` ends everything it started, in reverse order. The end-to-end test drives the same object (it stops the
consumer, kills the API and restarts it with another model variant); `python -m stack up|down` wraps it for
`make stack` / `make stack-down`, recording every process in `<state dir>/state.json` so a later invocation
stops exactly those processes (see stack.processes for how a recycled PID is told apart).

Prometheus starts last, once the API and the consumer answer: its first scrape then finds them up, so a stack
that is starting does not burn the availability and freshness budgets it is about to measure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stack.config import PrometheusTargets, alertmanager_config, prometheus_config
from stack.http import wait_http_ok
from stack.ports import LOOPBACK, free_port, port_is_free
from stack.processes import ManagedProcess, ProcessError, ProcessRecord, stop_record

REPO_ROOT = Path(__file__).resolve().parents[1]
STATE_FILE = "state.json"
DEFAULT_PORTS: Mapping[str, int] = {
    "broker": 9092,
    "api": 8000,
    "consumer": 8001,
    "prometheus": 9090,
    "alertmanager": 9093,
    "drift": 8002,
}
# Start order; stop order is the reverse (Prometheus first, the broker last).
ORDER = ("broker", "alertmanager", "api", "consumer", "producer", "client", "drift", "prometheus")
# Tansu admits a group member only after one rebalance timeout (= max.poll.interval): keep it short locally.
FAST_GROUP_JOIN_ENV: Mapping[str, str] = {
    "KAFKA_MAX_POLL_INTERVAL_MS": "3000",
    "KAFKA_SESSION_TIMEOUT_MS": "3000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
}


class StackError(RuntimeError):
    """The stack cannot start or stop as asked; the message says what to do."""


def find_binary(*names: str) -> str:
    """The first of `names` on PATH; a StackError naming the Debian package otherwise."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise StackError(
        f"{' or '.join(names)} not found: install Debian's 'prometheus' and 'prometheus-alertmanager' packages"
        " (`make install-system-deps` as root)"
    )


@dataclass(frozen=True)
class StackSettings:
    """What to start and how. Defaults are `make stack`'s; the end-to-end test shortens intervals and windows."""

    state_dir: Path = REPO_ROOT / ".work" / "stack"
    rule_files: tuple[str, ...] = (str(REPO_ROOT / "alerts" / "*.yaml"),)  # alerts/tests/ is not matched
    scrape_interval: str = "5s"
    evaluation_interval: str = "5s"
    model_variant: str = "ml"
    fault_injection: bool = False
    producer_rate: float = 2.0  # messages per second, all products together
    producer_products: tuple[str, ...] = ("BTC-USD", "ETH-USD")
    producer_duration_seconds: float = 3600.0  # the producer stops by itself after this
    producer_poison_every: int = 0  # every Nth message broken (DLQ path, consumer error metrics); 0 = none
    client_rate: float = 5.0  # POST /predict per second by stack.traffic, so the API SLOs see traffic; 0 = none
    prefer_default_ports: bool = True  # False: every port is picked free (tests)
    webhook_url: str | None = None  # Alertmanager receivers post here when set
    alert_group_wait: str = "30s"
    alert_group_interval: str = "5m"
    service_env: Mapping[str, str] = field(default_factory=dict)  # extra env for API, consumer, producer
    train_if_missing: bool = True  # ml variant without a trained model: train one first (`make train`)
    drift: bool = True  # run the drift job (Prometheus job volatility-drift)
    # None: Evidently compares a fresh normal-mode simulated hour with the training features (~15 s before the
    # gauges appear); a path: publish that drift metrics JSON at once (`services.ml.drift --from-json`).
    drift_json: Path | None = None
    ready_timeout: float = 60.0


@dataclass
class LocalStack:
    """A running (or startable) local stack; `components` in start order, by name."""

    settings: StackSettings = field(default_factory=StackSettings)
    ports: dict[str, int] = field(default_factory=dict)
    components: dict[str, ManagedProcess] = field(default_factory=dict)
    python: str = sys.executable

    # -- addresses --------------------------------------------------------------------------------------------

    def url(self, name: str) -> str:
        if name == "broker":
            return f"{LOOPBACK}:{self.ports['broker']}"
        return f"http://{LOOPBACK}:{self.ports[name]}"

    def urls(self) -> dict[str, str]:
        names = {
            "api": "prediction API (/predict, /health, /docs, /metrics)",
            "consumer": "consumer metrics (/metrics)",
            "prometheus": "Prometheus (rules, alerts, graphs)",
            "alertmanager": "Alertmanager",
            "drift": "drift job metrics (/metrics)",
            "broker": "Kafka-protocol broker (Tansu)",
        }
        return {name: f"{self.url(name)}  {what}" for name, what in names.items() if name in self.ports}

    @property
    def state_path(self) -> Path:
        return self.settings.state_dir / STATE_FILE

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        """Start everything; on any failure stop what was started and raise."""
        cfg = self.settings
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_if_running()
        self._pick_ports()
        try:
            self._start_broker()
            self._start_alertmanager()
            self.start_api()
            self.start_consumer()
            self.start_producer()
            if self.settings.client_rate > 0:
                self.start_client()
            if self.settings.drift:
                self.start_drift(wait=self.settings.drift_json is not None)
            self._start_prometheus()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every component this object started in reverse start order — Prometheus first, so a shutdown
        does not page — and the broker last; forget the state file."""
        for name in reversed(ORDER):
            component = self.components.get(name)
            if component is not None:
                component.stop()
        self.state_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- components -------------------------------------------------------------------------------------------

    def service_env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.url("broker"),
            "MODEL_VARIANT": self.settings.model_variant,
            "PYTHONUNBUFFERED": "1",
            **FAST_GROUP_JOIN_ENV,
            **self.settings.service_env,
        }

    def start_api(self, model_variant: str | None = None, env: Mapping[str, str] | None = None) -> ManagedProcess:
        """Start (or restart, on the same port) the API; waits for /health 200. The rollback is
        `start_api(model_variant="baseline")`."""
        old = self.components.get("api")
        if old is not None:
            old.stop()
        service_env = self.service_env()
        variant = model_variant or service_env["MODEL_VARIANT"]
        if variant == "ml":
            self._ensure_trained_model(service_env)
        api_env = {
            **service_env,
            "MODEL_VARIANT": variant,
            "API_HOST": LOOPBACK,
            "API_PORT": str(self.ports["api"]),
            "FAULT_INJECTION_ENABLED": "1" if self.settings.fault_injection else "0",
            **(env or {}),
        }
        api = self._spawn("api", [self.python, "-m", "services.api", "--log-level", "warning"], api_env)
        self._wait_http(api, f"{self.url('api')}/health")
        self._save_state()
        return api

    def start_consumer(self) -> ManagedProcess:
        old = self.components.get("consumer")
        if old is not None:
            old.stop()
        env = {**self.service_env(), "METRICS_HOST": LOOPBACK, "METRICS_PORT": str(self.ports["consumer"])}
        if env["MODEL_VARIANT"] == "ml":
            self._ensure_trained_model(env)
        consumer = self._spawn("consumer", [self.python, "-m", "services.consumer", "--log-level", "warning"], env)
        self._wait_http(consumer, f"{self.url('consumer')}/metrics")
        self._save_state()
        return consumer

    def start_producer(self) -> ManagedProcess:
        cfg = self.settings
        products = list(cfg.producer_products)
        # One feature row per simulated second per product: simulate enough seconds to last the duration.
        seconds = max(600, int(cfg.producer_duration_seconds * cfg.producer_rate / len(products)) + 600)
        argv = [
            self.python, "-m", "services.producer",
            "--rate", str(cfg.producer_rate),
            "--seconds", str(seconds),
            "--duration", str(cfg.producer_duration_seconds),
            "--live-time",
            "--poison-every", str(cfg.producer_poison_every),
            "--products", *products,
        ]  # fmt: skip
        producer = self._spawn("producer", argv, self.service_env())
        time.sleep(0.2)
        if not producer.running:
            raise ProcessError(f"producer exited at once:\n{producer.log_tail()}")
        self._save_state()
        return producer

    def start_client(self) -> ManagedProcess:
        """The steady API client (stack.traffic) for as long as the producer runs."""
        cfg = self.settings
        argv = [
            self.python, "-m", "stack.traffic", "--url", self.url("api"),
            "--rate", str(cfg.client_rate), "--duration", str(cfg.producer_duration_seconds),
        ]  # fmt: skip
        client = self._spawn("client", argv, {"PYTHONUNBUFFERED": "1"})
        time.sleep(0.2)
        if not client.running:
            raise ProcessError(f"client exited at once:\n{client.log_tail()}")
        self._save_state()
        return client

    def start_drift(self, drift_json: Path | None = None, wait: bool = True) -> ManagedProcess:
        """Start (or restart) the drift job. Without a JSON it computes first: `wait=False` lets Prometheus
        start meanwhile (its drift SLO does not count a missing scrape as bad)."""
        old = self.components.get("drift")
        if old is not None:
            old.stop()
        cfg = self.settings
        source = drift_json or cfg.drift_json
        reports = cfg.state_dir / "drift-reports"
        argv = [
            self.python, "-m", "services.ml.drift", "--serve",
            "--host", LOOPBACK, "--port", str(self.ports["drift"]),
            "--no-summary", "--no-control", "--reports-dir", str(reports),
        ]  # fmt: skip
        if source is not None:
            argv += ["--from-json", str(source)]
        else:
            capture = cfg.state_dir / "normal-window.ndjson"
            if not capture.exists():
                self._run_step(
                    "normal-mode capture for the drift job",
                    [self.python, "-m", "services.ticks", "simulate", "--seed", "4242", "--seconds", "3900",
                     "--products", "BTC-USD", "--out", str(capture)],
                )  # fmt: skip
            argv += ["--current", str(capture), "--interval", "3600"]
        drift = self._spawn("drift", argv, {"PYTHONUNBUFFERED": "1"})
        if wait:
            self._wait_http(drift, f"{self.url('drift')}/metrics")
        self._save_state()
        return drift

    def _run_step(self, what: str, argv: Sequence[str]) -> None:
        log = self.settings.state_dir / "steps.log"
        with open(log, "ab") as out:
            done = subprocess.run(argv, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            raise StackError(f"{what} failed (exit {done.returncode}); see {log}")

    def _start_broker(self) -> None:
        from services.settings import Settings
        from stack.broker import SERVICE_TOPICS, start_broker

        log = self.settings.state_dir / "broker.log"
        # up to this many consumers share the input topic
        partitions = Settings.from_env({**os.environ, **self.service_env()}).topic_partitions
        broker = start_broker(self.ports["broker"], topics=SERVICE_TOPICS, partitions=partitions, log_path=log)
        assert broker.process is not None
        self.components["broker"] = ManagedProcess.adopt("broker", broker.process, log, self.ports["broker"])
        self._save_state()

    def _start_alertmanager(self) -> None:
        cfg = self.settings
        config_path = cfg.state_dir / "alertmanager.yml"
        config_path.write_text(
            alertmanager_config(
                webhook_url=cfg.webhook_url, group_wait=cfg.alert_group_wait, group_interval=cfg.alert_group_interval
            )
        )
        data = cfg.state_dir / "alertmanager-data"
        shutil.rmtree(data, ignore_errors=True)
        argv = [
            find_binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={config_path}",
            f"--storage.path={data}",
            f"--web.listen-address={LOOPBACK}:{self.ports['alertmanager']}",
            "--cluster.listen-address=",  # no HA gossip port (it would take :9094)
            "--log.level=warn",
        ]
        am = self._spawn("alertmanager", argv, {})
        self._wait_http(am, f"{self.url('alertmanager')}/-/ready")
        self._save_state()

    def _start_prometheus(self) -> None:
        cfg = self.settings
        targets = PrometheusTargets(
            api=f"{LOOPBACK}:{self.ports['api']}",
            consumer=f"{LOOPBACK}:{self.ports['consumer']}",
            prometheus=f"{LOOPBACK}:{self.ports['prometheus']}",
            alertmanager=f"{LOOPBACK}:{self.ports['alertmanager']}",
            drift=f"{LOOPBACK}:{self.ports['drift']}" if cfg.drift else None,
        )
        config_path = cfg.state_dir / "prometheus.yml"
        config_path.write_text(
            prometheus_config(
                targets,
                cfg.rule_files,
                scrape_interval=cfg.scrape_interval,
                evaluation_interval=cfg.evaluation_interval,
            )
        )
        self.components["prometheus"] = start_prometheus(
            config_path, cfg.state_dir / "prometheus-data", self.ports["prometheus"], cfg.state_dir / "prometheus.log"
        )
        self._wait_http(self.components["prometheus"], f"{self.url('prometheus')}/-/ready")
        self._save_state()

    # -- helpers ----------------------------------------------------------------------------------------------

    def _spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> ManagedProcess:
        process = ManagedProcess(
            name, argv, self.settings.state_dir / f"{name}.log", env=env, cwd=REPO_ROOT, port=self.ports.get(name)
        )
        self.components[name] = process
        return process.start()

    def _wait_http(self, process: ManagedProcess, url: str) -> None:
        problem = wait_http_ok(url, self.settings.ready_timeout, lambda: process.running)
        if problem == "exited":
            raise ProcessError(
                f"{process.name} exited with {process.process and process.process.poll()}:\n{process.log_tail()}"
            )
        if problem is not None:
            raise ProcessError(f"{process.name} at {url}: {problem}:\n{process.log_tail()}")

    def _pick_ports(self) -> None:
        for name, default in DEFAULT_PORTS.items():
            if name in self.ports:
                continue
            if self.settings.prefer_default_ports and port_is_free(default):
                self.ports[name] = default
            else:
                self.ports[name] = free_port()

    def _ensure_trained_model(self, env: Mapping[str, str]) -> None:
        """The ml variant needs a trained model; on a fresh machine train one exactly as `make train` does."""
        if env.get("MLFLOW_TRACKING_URI") or not self.settings.train_if_missing:
            return
        model_path = Path(env.get("MODEL_PATH") or os.environ.get("MODEL_PATH") or REPO_ROOT / ".work/models/ml")
        if not model_path.is_absolute():
            model_path = REPO_ROOT / model_path
        if (model_path / "model.json").is_file():
            return
        print(f"no trained model at {model_path}: training one (python -m services.ml.training)", flush=True)
        log = self.settings.state_dir / "training.log"
        with open(log, "ab") as out:
            done = subprocess.run(
                [self.python, "-m", "services.ml.training", "--model-path", str(model_path)],
                cwd=REPO_ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise StackError(f"training failed (see {log}); or run with MODEL_VARIANT=baseline")

    def _refuse_if_running(self) -> None:
        if not self.state_path.exists():
            return
        alive = [r for r in read_state(self.state_path) if r.alive()]
        if alive:
            names = ", ".join(f"{r.name} (pid {r.pid})" for r in alive)
            raise StackError(f"a stack from {self.state_path} is still running: {names}; run `make stack-down`")
        self.state_path.unlink()

    def _save_state(self) -> None:
        records = [c.record() for name in ORDER if (c := self.components.get(name)) is not None and c.running]
        state: dict[str, Any] = {
            "ports": self.ports,
            "urls": {name: self.url(name) for name in self.ports},
            "components": [r.to_json() for r in records],
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, self.state_path)


def start_prometheus(config_path: Path, data_dir: Path, port: int, log_path: Path) -> ManagedProcess:
    """A Prometheus (Debian binary) on 127.0.0.1:`port` with a fresh TSDB; the caller waits for /-/ready."""
    shutil.rmtree(data_dir, ignore_errors=True)
    argv = [
        find_binary("prometheus"),
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    return ManagedProcess("prometheus", argv, log_path, port=port).start()


def read_state(path: Path) -> list[ProcessRecord]:
    """The processes recorded by `make stack`, in start order."""
    try:
        data = json.loads(path.read_text())
        return [ProcessRecord.from_json(c) for c in data["components"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StackError(f"cannot read stack state {path}: {exc}") from exc


def stop_recorded(state_dir: Path) -> Iterator[tuple[str, int, str]]:
    """Stop every process the state file records (reverse start order); yields (name, pid, outcome)."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return
    records = read_state(path)
    for record in sorted(records, key=lambda r: ORDER.index(r.name) if r.name in ORDER else -1, reverse=True):
        yield record.name, record.pid, stop_record(record)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
