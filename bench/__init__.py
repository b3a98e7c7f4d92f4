"""Benchmarks: `make bench` (`python -m bench`). Kept out of `make test`; see
docs/benchmarks.md for what each measures and the latest figures."""
