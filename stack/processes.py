"""Detached processes that can be stopped later, from another invocation, without killing a stranger.

`make stack` starts every component in its own session (so Ctrl-C in the terminal does not reach them and each
can be stopped as a process group) and returns; `make stack-down` runs later in a new Python process that only
has the state file. A PID alone is not an identity — the kernel reuses them — so each record also keeps the
process' start time from /proc: `stack-down` signals a PID only while that start time still matches.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.procfs import is_zombie, start_time

REPO_ROOT = Path(__file__).resolve().parents[1]


class ProcessError(RuntimeError):
    """A component did not start or become ready; the message carries its log tail."""


@dataclass
class ProcessRecord:
    """What the state file keeps about one started process."""

    name: str
    pid: int
    start_time: int
    argv: list[str]
    log: str
    port: int | None = None

    def alive(self) -> bool:
        """True while the recorded process (same PID *and* same start time) still runs."""
        return start_time(self.pid) == self.start_time and is_zombie(self.pid) is False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessRecord:
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            start_time=int(data["start_time"]),
            argv=[str(a) for a in data["argv"]],
            log=str(data["log"]),
            port=None if data.get("port") is None else int(data["port"]),
        )


def signal_group(record: ProcessRecord, signum: int) -> bool:
    """Signal the record's process group (it leads its own session); False when it is no longer ours."""
    if not record.alive():
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, signum)
        return True
    return False


def stop_record(record: ProcessRecord, timeout: float = 10.0) -> str:
    """SIGTERM the group, SIGKILL it after `timeout`; returns what happened, for the user."""
    if not signal_group(record, signal.SIGTERM):
        return "not running"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not record.alive():
            return "stopped"
        time.sleep(0.05)
    signal_group(record, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while record.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return "killed after timeout"


@dataclass
class ManagedProcess:
    """One component: started detached with its own log file; stopped or killed as a process group."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> ManagedProcess:
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                list(self.argv),
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @classmethod
    def python_module(
        cls, module: str, *args: str, env: Mapping[str, str] | None = None, name: str | None = None
    ) -> ManagedProcess:
        """``python -m module args`` from the repo root, logging to a fresh temp file (tests and benchmarks)."""
        label = name or module
        handle, log = tempfile.mkstemp(prefix=f"{label.replace('.', '-')}-", suffix=".log")
        os.close(handle)
        return cls(name=label, argv=[sys.executable, "-m", module, *args], log_path=Path(log), env=dict(env or {}),
                   cwd=REPO_ROOT)  # fmt: skip

    @classmethod
    def adopt(
        cls, name: str, process: subprocess.Popen[bytes], log_path: Path, port: int | None = None
    ) -> ManagedProcess:
        """Wrap a process somebody else started (the broker) so it is recorded and stopped the same way."""
        argv = process.args if isinstance(process.args, list) else [str(process.args)]
        return cls(name=name, argv=[str(a) for a in argv], log_path=log_path, port=port, process=process)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ProcessError(f"{self.name} was never started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the main process only (e.g. SIGTERM to test a graceful drain)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        if self.process is None:
            raise ProcessError(f"{self.name} was never started")
        return self.process.wait(timeout)

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)

    def record(self) -> ProcessRecord:
        start = start_time(self.pid)
        if start is None:
            raise ProcessError(f"{self.name} (pid {self.pid}) exited right after starting:\n{self.log_tail()}")
        return ProcessRecord(self.name, self.pid, start, [str(a) for a in self.argv], str(self.log_path), self.port)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to the group, SIGKILL after `timeout`; returns the exit code (None if never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.poll()

    def kill(self) -> None:
        """SIGKILL the whole group at once: the component vanishes as in a crash."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
