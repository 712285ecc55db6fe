"""Process plumbing shared by the service benchmarks (not a benchmark itself: the runner only loads `bench_*`).

Mirrors tests/support/processes.py on purpose rather than importing it: benchmarks must not depend on the test
tree. Every process runs in its own session with its output in a temp log, so a failed start can show why and a
stop can take the whole group down.
"""

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

REPO_ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A benchmark could not run or produced an absurd result; the message says which and why."""


class Process:
    """`python -m <module> <args>` from the repo root with `env` added; `stop()` is safe to call twice."""

    def __init__(self, name: str, module: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv: Sequence[str] = [sys.executable, "-m", module, *args]
        self.env = {**os.environ, **(env or {})}
        handle, log = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")
        os.close(handle)
        self.log_path = Path(log)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} was never started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (from /proc; the benches run on Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL of the whole process group after `timeout`."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, why: str) -> BenchError:
        """An error naming the process and carrying its log tail."""
        return BenchError(f"{self.name}: {why}\n--- log tail ---\n{self.log_tail()}")

    def __enter__(self) -> Process:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


def wait_http_ok(url: str, process: Process, timeout: float = 30.0) -> None:
    """Wait until GET `url` answers 200; raise BenchError (with the log) if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not process.running:
            raise process.fail(f"exited with {process.process.returncode if process.process else None} at start")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
                last = f"status {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"status {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise process.fail(f"{url} not ready after {timeout:.0f}s ({last})")


def machine_note() -> str:
    """CPU count and load, printed under each table: the figures mean little without them."""
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs, load average {load:.2f} at the end of the run"
