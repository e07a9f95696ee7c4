"""What the map adds to a prediction: the one-pass map vs a logits-only export, and pytorch-grad-cam."""
from __future__ import annotations

import statistics

import numpy as np

from ..serving.architectures import architecture_of
from ..serving.cam import scale_map
from ..serving.engine import OnnxEngine, export_onnx
from ..serving.int8 import prepared_fp32, quantized_model
from ..serving.predictor import Predictor
from ..serving.preprocess import decode_image
from .timing import time_calls, time_interleaved

STATISTIC = "median of interleaved runs"


def predict_from_tensor(predictor: Predictor, x: np.ndarray, with_map: bool) -> None:
    """Engine, probabilities and (``with_map``) the predicted class's map scaled to the input size."""
    logits, pooled, maps = predictor.engine.run(x)
    p = predictor.probabilities(logits)
    if with_map:
        scale_map(maps[0, 0 if p[0] >= predictor.meta.threshold else 1], predictor.meta.input_size)


def without_map(predictor: Predictor, x: np.ndarray):
    """A prediction without the map: a logits-only export of the same kind (int8 where the predictor runs
    int8: like with like), or the torch engine's prediction with the map left out."""
    if not isinstance(predictor.engine, OnnxEngine):
        return lambda: predict_from_tensor(predictor, x, False)
    plain = export_onnx(predictor.model, with_maps=False)
    if predictor.engine.name.endswith("int8"):
        plain = quantized_model(prepared_fp32(plain), predictor.meta.quantization["ranges"],
                                architecture_of(predictor.model).head_nodes)
    logits_only = OnnxEngine(plain)
    return lambda: logits_only.session.run(None, {"input": x})


def map_cost(predictor: Predictor, x: np.ndarray, one: bytes, runs: int) -> dict[str, object]:
    """Milliseconds with and without the map, alternated call by call and compared by their medians (timed one
    after the other and compared by means, the load of a shared machine passed for a map cost of 16-19 %)."""
    timed = time_interleaved({"with": lambda: predict_from_tensor(predictor, x, True),
                              "without": without_map(predictor, x)}, runs)
    with_ms, without_ms = timed["with"]["median"] * 1e3, timed["without"]["median"] * 1e3
    # The same from the rounds' own differences (each pair ran back to back, so slower drift cancels out).
    paired_ms = statistics.median(a - b for a, b in zip(timed["with"]["samples"], timed["without"]["samples"])) * 1e3
    img = decode_image(one).image
    library = time_calls(lambda: predictor.explain(img, class_name=predictor.meta.class_names[0]), max(3, runs // 5))
    return {"prediction_with_map": with_ms, "prediction_without_map": without_ms,
            "map_overhead_pct": 100 * (with_ms - without_ms) / without_ms,
            "pytorch_grad_cam": library["median"] * 1e3, "statistic": STATISTIC, "runs": runs,
            "paired_overhead_ms": paired_ms, "paired_overhead_pct": 100 * paired_ms / without_ms,
            "means": {"prediction_with_map": timed["with"]["mean"] * 1e3,
                      "prediction_without_map": timed["without"]["mean"] * 1e3}}
