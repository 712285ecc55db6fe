"""Run a service (`python -m ...`) as a real process: own env, log file, readiness wait, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """Status and body of a GET (4xx/5xx included, no exception for them)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")


def wait_http_ok(url: str, timeout: float, process: ServiceProcess | None = None) -> None:
    """Wait until `url` answers 200; fail early (with the log) if `process` dies."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and not process.running:
            raise AssertionError(f"{process.name} exited with {process.returncode}:\n{process.log_tail()}")
        try:
            status, body = http_get(url, timeout=1.0)
            if status == 200:
                return
            last = f"{status} {body[:200]}"
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.1)
    tail = process.log_tail() if process is not None else ""
    raise AssertionError(f"{url} not ready after {timeout}s ({last})\n{tail}")


class ServiceProcess:
    """`python -m <module> <args>` with `env` added to the current environment; logs go to a temp file."""

    def __init__(self, module: str, *args: str, env: Mapping[str, str] | None = None, name: str | None = None):
        self.module = module
        self.args: Sequence[str] = args
        self.env = {**os.environ, **(env or {})}
        self.name = name or module
        handle, log = tempfile.mkstemp(prefix=f"{self.name.replace('.', '-')}-", suffix=".log")
        os.close(handle)
        self.log_path = Path(log)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        if self.running:
            assert self.process is not None
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL of the whole process group after `timeout`; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)
