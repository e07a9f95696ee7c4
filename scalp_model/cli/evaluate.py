"""``python -m scalp_model evaluate DATA_DIR``: a checkpoint's figures on a labelled folder, through the Predictor.

Thin: the flags and the work are :func:`scalp_model.training.evaluate.add_arguments` and
:func:`scalp_model.training.evaluate.main`.
"""
from __future__ import annotations

from ..training.evaluate import add_arguments, main

__all__ = ["add_arguments", "main"]
