"""Benchmarks run by tests/benchmarks/run.py (bench_*.py modules); not collected by pytest."""
