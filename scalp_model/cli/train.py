"""``python -m scalp_model train DATA_DIR --out weights/NAME.pt``: the paper's recipe, end to end.

Thin: the flags and the run are :func:`scalp_model.training.train.add_arguments` and
:func:`scalp_model.training.train.main` (importable without the CLI, as torchvision's references are).
"""
from __future__ import annotations

from ..training.train import add_arguments, main

__all__ = ["add_arguments", "main"]
