"""Run a service (`python -m ...`) as a real process: own env, log file, readiness wait, clean stop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from stack.http import http_get
from stack.http import wait_http_ok as http_wait
from stack.processes import ManagedProcess

__all__ = ["REPO_ROOT", "ServiceProcess", "http_get", "wait_http_ok"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_http_ok(url: str, timeout: float, process: ServiceProcess | None = None) -> None:
    """Wait until `url` answers 200; fail early (with the log) if `process` dies."""
    problem = http_wait(url, timeout, (lambda: process.running) if process is not None else (lambda: True))
    if problem == "exited" and process is not None:
        raise AssertionError(f"{process.name} exited with {process.returncode}:\n{process.log_tail()}")
    if problem is not None:
        tail = process.log_tail() if process is not None else ""
        raise AssertionError(f"{url} {problem}\n{tail}")


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
