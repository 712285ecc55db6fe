"""Process plumbing shared by the service benchmarks (not a benchmark itself: the runner only loads `bench_*`).

Processes are the stack's `ManagedProcess` (benchmarks must not depend on the test tree): each runs in its own
session with its output in a temp log, so a failed start can show why and a stop can take the whole group down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from services.procfs import stat_fields
from stack.http import wait_http_ok as http_wait
from stack.processes import ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A benchmark could not run or produced an absurd result; the message says which and why."""


class Process(ManagedProcess):
    """`python -m <module> <args>` from the repo root with `env` added; `stop()` is safe to call twice."""

    def __init__(self, name: str, module: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        made = ManagedProcess.python_module(module, *args, env=env, name=f"bench-{name}")
        super().__init__(name=name, argv=made.argv, log_path=made.log_path, env=made.env, cwd=made.cwd)

    def start(self) -> Process:
        super().start()
        return self

    def __enter__(self) -> Process:
        return self.start()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (from /proc; the benches run on Linux)."""
        fields = stat_fields(self.pid)
        if fields is None:
            raise self.fail("gone: no /proc entry to read its CPU time from")
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def fail(self, why: str) -> BenchError:
        """An error naming the process and carrying its log tail."""
        return BenchError(f"{self.name}: {why}\n--- log tail ---\n{self.log_tail()}")


def wait_http_ok(url: str, process: Process, timeout: float = 30.0) -> None:
    """Wait until GET `url` answers 200; raise BenchError (with the log) if the process dies or time runs out."""
    problem = http_wait(url, timeout, lambda: process.running)
    if problem == "exited":
        raise process.fail(f"exited with {process.process.returncode if process.process else None} at start")
    if problem is not None:
        raise process.fail(f"{url} {problem}")


def machine_note() -> str:
    """CPU count and load, printed under each table: the figures mean little without them."""
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs, load average {load:.2f} at the end of the run"
