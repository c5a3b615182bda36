"""Benchmarks: ``python -m benchmarks.click_cost`` and ``python -m benchmarks.inbox``."""
