"""Benchmarks: `make bench` (python -m bench). Figures are ratios within one run; see bench/README.md."""
