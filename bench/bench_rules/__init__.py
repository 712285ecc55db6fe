"""``make bench-rules``: what each SLO rule set costs a real Prometheus, and how exact its SLIs are.

Run with ``python -m bench.bench_rules`` (about 4 minutes on 2 shared cores; not part of ``make test`` or
``make bench``). See ``bench/README.md`` ("Rule evaluation cost") for the method and the figures.
"""

from bench.bench_rules.main import run

__all__ = ["run"]
