"""The paper's recipe, piece by piece: seeding, the initial GoogLeNet, frozen blocks, class weights, loss.

Small flat functions used by :mod:`scalp_model.training.train`; each raises :class:`TrainingError` with a
message that says which flag to change.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..serving.network import ScalpNet, build_scalpnet

FREEZE_POINTS = {
    "none": [],
    "stem": ["conv1", "conv2", "conv3"],
    "inception3": ["conv1", "conv2", "conv3", "inception3a", "inception3b"],
    "inception4": ["conv1", "conv2", "conv3", "inception3a", "inception3b", "inception4a", "inception4b",
                   "inception4c", "inception4d", "inception4e"],
}
FREEZE_POINTS["all"] = FREEZE_POINTS["inception4"] + ["inception5a", "inception5b"]



class TrainingError(RuntimeError):
    """A training run that cannot start; the message says what to change."""


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def resolve_init(init: str) -> tuple[str, str | None]:
    """``auto`` is the paper's ImageNet start where the weights can be had, else scratch with a warning.

    Returns the init actually used and, when it fell back, why (recorded in the card). An explicit
    ``--init imagenet`` never falls back: it fails with a message saying what to do.
    """
    if init != "auto":
        return init, None
    try:
        build_scalpnet(init="imagenet")
        return "imagenet", None
    except Exception as exc:  # offline, proxy, corrupt cache: all mean "not obtainable here"
        reason = f"ImageNet GoogLeNet weights unavailable ({type(exc).__name__}); trained from scratch"
        print(f"warning: --init auto: {reason}. Pass '--init PATH' with local weights for the paper's recipe.",
              file=sys.stderr, flush=True)
        return "scratch", reason


def build_model(init: str) -> tuple[ScalpNet, bool]:
    """GoogLeNet from ImageNet weights, a local state dict or scratch, with a clear message offline."""
    try:
        return build_scalpnet(init=init)
    except FileNotFoundError as exc:
        raise TrainingError(str(exc)) from exc
    except Exception as exc:
        if init != "imagenet":
            raise TrainingError(f"--init {init}: could not load GoogLeNet weights ({exc})") from exc
        raise TrainingError(
            f"--init imagenet: torchvision's ImageNet GoogLeNet weights could not be loaded "
            f"({type(exc).__name__}: {exc}). They are downloaded on first use, which fails offline. Use '--init PATH' with a local "
            "GoogLeNet state dict (e.g. the torchvision file googlenet-1378be20.pth copied from an online machine, "
            "or one made by 'python -m scalp_model.training.distill'), or '--init scratch'."
        ) from exc


def apply_freeze(model: ScalpNet, point: str) -> list[str]:
    names = FREEZE_POINTS[point]
    for name in names:
        for p in model.backbone.get_submodule(name).parameters():
            p.requires_grad_(False)
    return names


def set_train_mode(model: ScalpNet, frozen: Sequence[str]) -> None:
    """Train mode, but frozen blocks keep their BatchNorm statistics."""
    model.train()
    for name in frozen:
        model.backbone.get_submodule(name).eval()


def class_weights(spec: str, labels: Sequence[int], n_classes: int) -> torch.Tensor | None:
    if spec == "none":
        return None
    if spec == "balanced":
        counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(float)
        return torch.tensor(len(labels) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)
    try:
        values = [float(v) for v in spec.split(",")]
    except ValueError:
        values = []
    if len(values) != n_classes or min(values, default=0) <= 0:
        raise TrainingError(f"--class-weights {spec!r}: use none, balanced or {n_classes} positive numbers like 1,2")
    return torch.tensor(values, dtype=torch.float32)


def loss_function(kind: str, weights: torch.Tensor | None):
    """``mse``: squared error between softmax and one-hot (the paper); ``ce``: cross-entropy."""
    def mse(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        per = ((logits.softmax(1) - F.one_hot(target, logits.shape[1]).float()) ** 2).sum(1)
        if weights is not None:
            w = weights.to(logits.device)[target]
            return (per * w).sum() / w.sum()
        return per.mean()

    def ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target, weight=None if weights is None else weights.to(logits.device))

    if kind not in ("mse", "ce"):
        raise TrainingError(f"--loss {kind!r}: use mse or ce")
    return mse if kind == "mse" else ce
