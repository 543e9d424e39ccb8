"""Benchmarks; `python -m bench.webhook_bench`, results in BENCHMARKS.md."""
