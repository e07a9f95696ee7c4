"""Generated test material: images in every mode and small checkpoints with non-degenerate maps.

Shared by ``tests/`` (as ``tests.factories``) and ``scripts/``.

A freshly initialised torchvision GoogLeNet has ~1e-13 activations at ``inception5b``; re-initialising
the convolutions with He initialisation and unit BatchNorm statistics gives maps worth comparing.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from scalp_model.serving.checkpoint import ModelMeta, save_checkpoint
from scalp_model.serving.network import ScalpNet, build_scalpnet
from scalp_model.serving.probe_images import skin_photo_array


def lively_scalpnet(seed: int = 0) -> ScalpNet:
    torch.manual_seed(seed)
    net, _ = build_scalpnet(init="scratch")
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight)
        elif isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.fill_(1.0)
            module.running_mean.zero_()
    torch.nn.init.normal_(net.backbone.fc.weight, std=0.05)
    return net.eval()


def make_checkpoint(path: Path, *, seed: int = 0, **meta_changes) -> Path:
    meta = ModelMeta(version=meta_changes.pop("version", "test-tiny"), created="2026-01-01T00:00:00Z", **meta_changes)
    save_checkpoint(path, lively_scalpnet(seed), meta)
    return path


def photo_array(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A skin-toned textured picture with some structure, as uint8 HWC."""
    return skin_photo_array(width, height, seed)


def image_bytes(fmt: str = "JPEG", width: int = 320, height: int = 240, seed: int = 0, mode: str = "RGB",
                **save_kwargs) -> bytes:
    img = Image.fromarray(photo_array(width, height, seed))
    if mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save_kwargs)
    return buf.getvalue()
