"""``python -m bench.bench_rules``: print the cost and accuracy tables."""

import sys

from bench.bench_rules.main import run

if __name__ == "__main__":
    print("\n".join(run()))
    sys.exit(0)
