"""Shared pieces of the benchmarks: timing and the result record."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Result:
    """One benchmark: our median time, the named peer's, their ratio and the goal."""

    name: str
    ours: str
    peer: str
    ours_median_s: float
    peer_median_s: float
    ratio: float
    goal: str
    met: bool
    notes: str = ""
    #: one dict per solver (ours first): name, run_s, compile_s, total_s, error, ratios, note or skipped
    table: list[dict[str, Any]] = field(default_factory=list)


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def best_time(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """Smallest wall time of ``fn`` over ``repeat`` runs after ``warmup`` untimed runs: on a shared
    machine the least disturbed run (used for both sides of a comparison)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
