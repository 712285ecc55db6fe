"""The test tree's layering: the compiler's tests need only the compiler's dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Run pytest with the services extras made unimportable, as in an install of `volatility-slo` without [services].
_BLOCKED = ("kafka", "prometheus_client", "fastapi", "uvicorn", "mlflow", "sklearn", "evidently", "orjson")
_RUNNER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {_BLOCKED!r}:
            raise ImportError(f"{{name}} is a services extra")
        return None
sys.meta_path.insert(0, Block())
import pytest
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests/codegen"]))
"""


@pytest.mark.slow  # a second pytest collecting tests/codegen: ~5-15 s
def test_compiler_tests_collect_without_the_services_extras() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error" not in done.stdout.lower().splitlines()[-1], done.stdout[-2000:]
