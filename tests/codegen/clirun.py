"""Run ``slogen`` in-process or as another user, and look at what it left on disk: shared by the hostile tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from codegen.cli import main

REPO = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make test` installs it")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def assert_clean_error(self, code: int, *fragments: str) -> None:
        """Exit ``code``, a message naming every fragment, and never a traceback or an internal error."""
        assert self.code == code, (self.code, self.err)
        assert "Traceback" not in self.err and "internal error" not in self.err, self.err
        for fragment in fragments:
            assert fragment in self.err, (fragment, self.err)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def snapshot(*roots: Path) -> dict[str, bytes | None]:
    """Every file and directory under ``roots`` (hidden ones included) with its bytes (None for directories)."""
    found: dict[str, bytes | None] = {}
    for root in roots:
        if root.is_file():
            found[str(root)] = root.read_bytes()
        elif root.is_dir():
            found[str(root)] = None
            for path in root.rglob("*"):
                found[str(path)] = None if path.is_dir() else path.read_bytes()
    return found


def run_as_nobody(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m codegen`` as uid 65534 when we are root (root reads any file whatever its mode)."""
    command = [sys.executable, "-m", "codegen", *argv]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False)
