"""Run a service (`python -m ...`) as a real process: own env, log file, readiness wait, clean stop."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from stack.processes import ManagedProcess

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


class ServiceProcess(ManagedProcess):
    """`python -m <module> <args>` with `env` added to the current environment; logs go to a temp file.

    The stack's process wrapper (own session, log file, group stop) with the test suite's constructor.
    """

    def __init__(self, module: str, *args: str, env: Mapping[str, str] | None = None, name: str | None = None):
        made = ManagedProcess.python_module(module, *args, env=env, name=name)
        super().__init__(name=made.name, argv=made.argv, log_path=made.log_path, env=made.env, cwd=made.cwd)
        self.module = module
        self.args: Sequence[str] = args

    def start(self) -> ServiceProcess:
        super().start()
        return self

    def __enter__(self) -> ServiceProcess:
        return self.start()
