"""Timing primitives: one function repeated, or several alternated call by call."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def summary(samples: list[float]) -> dict[str, float]:
    """Mean, standard deviation, median and minimum of ``samples`` (seconds), and their number."""
    return {"mean": statistics.fmean(samples), "sd": statistics.stdev(samples) if len(samples) > 1 else 0.0,
            "median": statistics.median(samples), "min": min(samples), "n": len(samples)}


def time_calls(fn: Callable[[], object], runs: int, warmup: int = 2) -> dict[str, float]:
    """``fn`` called ``warmup`` times untimed, then ``runs`` times timed one after the other."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return summary(samples)


def time_interleaved(fns: dict[str, Callable[[], object]], runs: int, warmup: int = 2) -> dict[str, dict[str, float]]:
    """Each of ``fns`` timed ``runs`` times, alternating call by call (the order reversed every other round).

    On a shared machine the load changes from one second to the next; timing the variants one after the
    other lets that drift pass for a difference between them, alternating spreads it over all of them.
    Compare their medians: one slow call (another process took the core) moves a mean, not a median. Each
    summary also holds its ``samples`` in call order: round ``i`` of one beside round ``i`` of another.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns.items())
    for i in range(runs):
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: {**summary(s), "samples": s} for name, s in samples.items()}
