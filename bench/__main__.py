"""``make bench``: run every benchmark module in this folder and print its Markdown table."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

SEPARATE = {"bench_rules"}  # ~4 minutes on a real Prometheus: `make bench-rules`, or name it here


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    wanted = set(sys.argv[1:])
    for name in names:
        if wanted and name not in wanted:
            continue
        if not wanted and name in SEPARATE:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"## {name}\n")
        print("\n".join(module.run()))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
