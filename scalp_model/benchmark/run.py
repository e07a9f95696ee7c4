"""All the bench's figures in one run (see :mod:`scalp_model.benchmark`)."""
from __future__ import annotations

import argparse

import torch

from ..serving.predictor import Predictor
from . import figures
from .machine import cold_start, machine, rss_mb
from .map_cost import map_cost
from .photos import load_image_set
from .reference import NaiveReference


def run_bench(args: argparse.Namespace) -> dict[str, object]:
    """The figures for ``args`` (``weights``, ``runs``, ``set_runs``, ``set_size``, ``images``,
    ``no_cold_start``) as one JSON-ready dictionary."""
    rss_before = rss_mb()
    predictor = Predictor.from_path(args.weights, device="cpu")
    rss_loaded = rss_mb()
    reference = NaiveReference(predictor)
    images, source = load_image_set(args.images, args.set_size)
    one = images[0]
    res: dict[str, object] = {"machine": machine(), "paper": figures.PAPER, "engine": predictor.engine.name,
                              "image_set": source, "runs": args.runs, "set_runs": args.set_runs}
    fp32 = figures.fp32_engine(predictor)
    res["max_prob_diff_vs_reference"] = figures.agreement(predictor, reference, images, fp32)
    if fp32 is not predictor.engine:
        res["int8"] = figures.int8_figures(predictor, fp32, args.images)
    x = figures.model_tensor(predictor, one)
    res["forward_ms"] = figures.forward(predictor, reference, x, fp32, args.runs)
    res["per_image_s"] = figures.per_image(predictor, reference, one, args.runs)
    res["set_s"] = figures.image_set(predictor, reference, images, args.set_runs)
    res["map_ms"] = map_cost(predictor, x, one, args.runs)
    res.update(figures.decoding(predictor, reference, images, args.runs))
    res["memory_mb"] = {"before_load": rss_before, "model_loaded": rss_loaded, "after_bench": rss_mb()}
    if not args.no_cold_start:
        res["cold_start"] = cold_start(args.weights)
    if torch.cuda.is_available():
        res["cuda"] = figures.cuda_figures(predictor, x, args.runs)
    return res
