"""`make stack` / `make stack-down` as a person runs them: separate processes, only the state file in between."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.procfs import start_time
from stack.http import http_status
from stack.local import REPO_ROOT
from stack.processes import ProcessRecord, stop_record

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def stack_cli(state_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack", "--state-dir", str(state_dir), *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.mark.timeout(180)
def test_stack_up_then_down_stops_exactly_what_it_started(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    up = stack_cli(state_dir, "up", "--free-ports", "--model-variant", "baseline", "--no-drift", "--client-rate", "2",
                   "--scrape-interval", "1s")  # fmt: skip
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads((state_dir / "state.json").read_text())
        records = [ProcessRecord.from_json(c) for c in state["components"]]
        names = [r.name for r in records]
        assert names == ["broker", "alertmanager", "api", "consumer", "producer", "client", "prometheus"]
        assert all(r.alive() for r in records)
        for name in ("api", "consumer", "prometheus", "alertmanager"):
            assert state["urls"][name] in up.stdout, f"{name} URL not printed"
        assert http_status(state["urls"]["api"] + "/health") == 200
        assert http_status(state["urls"]["prometheus"] + "/-/ready") == 200
        # A second `make stack` refuses and leaves the running one alone.
        again = stack_cli(state_dir, "up", "--free-ports", "--no-drift")
        assert again.returncode == 1 and "still running" in again.stderr
        assert all(r.alive() for r in records)
        assert stack_cli(state_dir, "status").returncode == 0
    finally:
        down = stack_cli(state_dir, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert all(not r.alive() for r in records), [r.name for r in records if r.alive()]
    assert not (state_dir / "state.json").exists()
    assert "nothing to stop" in stack_cli(state_dir, "down").stdout


@pytest.mark.timeout(30)
def test_a_recycled_pid_is_never_signalled() -> None:
    """stack-down trusts a PID only with the start time it recorded: another process with that PID survives."""
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        start = start_time(sleeper.pid)
        assert start is not None
        stranger = ProcessRecord("api", sleeper.pid, start + 1, ["sleep"], "/dev/null")
        assert stop_record(stranger) == "not running"
        time.sleep(0.2)
        assert sleeper.poll() is None
        ours = ProcessRecord("api", sleeper.pid, start, ["sleep"], "/dev/null")
        assert stop_record(ours, timeout=5) == "stopped"
        assert sleeper.wait(5) == -signal.SIGTERM
    finally:
        if sleeper.poll() is None:
            os.killpg(sleeper.pid, signal.SIGKILL)
            sleeper.wait(5)
