"""The bench's timing primitives and its map-cost figure (scalp_model.benchmark)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from scalp_model.benchmark.timing import summary, time_calls, time_interleaved


def test_summary_has_the_median_beside_the_mean() -> None:
    s = summary([1.0, 2.0, 30.0])
    assert s["median"] == 2.0 and s["mean"] == pytest.approx(11.0) and s["min"] == 1.0 and s["n"] == 3
    assert summary([0.5])["sd"] == 0.0


def test_time_calls_warms_up_then_times_each_run() -> None:
    calls: list[int] = []
    s = time_calls(lambda: calls.append(1), runs=5, warmup=3)
    assert len(calls) == 8 and s["n"] == 5


def test_interleaved_alternates_call_by_call_and_reverses_every_other_round() -> None:
    calls: list[str] = []
    timed = time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, runs=4, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert timed["a"]["n"] == timed["b"]["n"] == 4 and len(timed["a"]["samples"]) == 4


def test_map_cost_compares_medians_of_interleaved_runs(tiny_checkpoint: Path) -> None:
    from scalp_model.benchmark.figures import model_tensor
    from scalp_model.benchmark.map_cost import STATISTIC, map_cost
    from scalp_model.benchmark.photos import generated_photo
    from scalp_model.serving.predictor import Predictor

    predictor = Predictor.from_path(tiny_checkpoint, device="cpu")
    one = generated_photo(320, 240, 0)
    res = map_cost(predictor, model_tensor(predictor, one), one, runs=3)
    assert res["statistic"] == STATISTIC == "median of interleaved runs"
    for key in ("prediction_with_map", "prediction_without_map", "pytorch_grad_cam"):
        assert math.isfinite(res[key]) and res[key] > 0, key
    with_ms, without_ms = res["prediction_with_map"], res["prediction_without_map"]
    assert res["map_overhead_pct"] == pytest.approx(100 * (with_ms - without_ms) / without_ms)
    assert res["paired_overhead_pct"] == pytest.approx(100 * res["paired_overhead_ms"] / without_ms)
