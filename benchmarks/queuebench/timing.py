"""p50/p95 of repeated calls, and the benchmark's progress log (stderr)."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from db.stats import percentile


@dataclass(frozen=True)
class Timing:
    """Percentiles of one metric in milliseconds, over ``n`` timed calls."""

    p50: float
    p95: float
    n: int

    def cell(self) -> str:
        return f"{self.p50:.1f} / {self.p95:.1f}"


def measure(fn: Callable[[int], Any], reps: int, warmup: int = 2) -> Timing:
    """Call ``fn(i)`` ``warmup`` times untimed, then ``reps`` times; p50/p95 in ms."""
    for i in range(warmup):
        fn(i)
    times = []
    for i in range(reps):
        start = time.perf_counter()
        fn(warmup + i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return Timing(percentile(times, 0.5), percentile(times, 0.95), len(times))


def log(message: str) -> None:
    """A time-stamped progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
