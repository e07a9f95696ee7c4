"""Feature distillation (scalp_model.training.distill): the cached views' split and the schedule."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pytest

from scalp_model.training.distill import Schedule, load_views


def _args(**kw) -> argparse.Namespace:
    base = dict(lr=1e-2, warmup=4, epochs=2, size=16, final_share=0.25, minutes=0, task_weight=0.0, task_c=0.1)
    return argparse.Namespace(**{**base, **kw})


def test_schedule_warms_up_decays_and_ends_at_full_size() -> None:
    schedule = Schedule(_args(), steps_per_epoch=10, full_side=24)
    assert schedule.total == schedule.max_steps == 20
    assert schedule.lr(0) == pytest.approx(1e-2 / 4) and schedule.lr(3) == pytest.approx(1e-2)
    assert schedule.lr(4) == pytest.approx(1e-2) and schedule.lr(20) == pytest.approx(0.0, abs=1e-12)
    assert schedule.lr(12) == pytest.approx(1e-2 * 0.5 * (1 + math.cos(math.pi * 8 / 16)))
    assert [schedule.size(s) for s in (0, 14, 15, 19)] == [16, 16, 24, 24]


def test_schedule_refits_only_with_a_wall_clock_budget() -> None:
    schedule = Schedule(_args(), steps_per_epoch=10, full_side=24)
    schedule.refit(55, 16)
    assert schedule.total == 20 and schedule.mark[1] == 0
    budget = Schedule(_args(minutes=1e-9), steps_per_epoch=100, full_side=24)
    budget.refit(30, 16)  # step 30: marks the time, no speed measured yet
    assert budget.mark[1] == 30 and budget.total == 200
    budget.refit(55, 16)  # the budget is spent: one more step
    assert budget.total == 56


def test_load_views_holds_out_at_least_64_views_never_trained_on(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    cache = tmp_path / "cache.npz"
    np.savez(cache, views=rng.integers(0, 256, (100, 8, 8, 3), dtype=np.uint8),
             features=rng.normal(size=(100, 6)).astype(np.float16), logits=rng.normal(size=(100, 5)))
    data = load_views(_args(cache=str(cache)), np.random.default_rng(0))
    assert len(data.held) == 64 and len(data.train_idx) == 36 and data.task is None
    assert not set(data.held) & set(data.train_idx) and set(data.held) | set(data.train_idx) == set(range(100))
    assert np.allclose(data.targets.mean(0), 0, atol=1e-5) and data.logits.dtype == np.float32
