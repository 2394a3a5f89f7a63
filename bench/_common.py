"""Shared helpers for bench scripts: percentiles and a budget line."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples_ms: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(samples_ms), "p99": percentile(samples_ms, 99), "n": len(samples_ms)}


def budget_line(name: str, value: float, budget: float, unit: str = "ms") -> str:
    verdict = "within budget" if value <= budget else "OVER BUDGET"
    return f"  {name:<44} {value:9.3f} {unit}   budget <= {budget:g} {unit}   {verdict}"


def timed(fn: Callable[[], object], iterations: int, warmup: int = 200) -> list[float]:
    """Milliseconds per call of ``fn``, after ``warmup`` untimed calls."""
    for _ in range(min(warmup, iterations)):
        fn()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples
