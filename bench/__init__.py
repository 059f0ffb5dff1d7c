"""Benchmarks of verify against named peers (run: python bench/run.py)."""
