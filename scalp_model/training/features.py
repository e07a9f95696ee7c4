"""Pooled features of the scalp photos, as the app computes them, for cross-validated probes.

Every photo is decoded as an upload is (:func:`scalp_model.training.data.load_image`) and remapped whole to the
network's input size (:func:`scalp_model.serving.preprocess.model_input`), with no mirror or crop: the features a
shipped linear head would see.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from ..serving.checkpoint import CLASS_NAMES, POSITIVE_CLASS, ModelMeta
from .data import Sample, load_image, scan_dataset
from ..serving.network import ScalpNet
from ..serving.preprocess import model_input


def scalp_set(data_dir: Path) -> tuple[list[Sample], list[Image.Image], np.ndarray]:
    """Samples, decoded photos and labels (1 psoriasis, 0 seborrheic dermatitis) of a labelled folder."""
    samples = scan_dataset(data_dir, CLASS_NAMES)
    positive = CLASS_NAMES.index(POSITIVE_CLASS)
    return samples, [load_image(data_dir, s.file) for s in samples], np.asarray([int(s.label == positive) for s in samples])


@torch.inference_mode()
def googlenet_features(net: ScalpNet, images: Sequence[Image.Image], meta: ModelMeta, batch: int = 16) -> np.ndarray:
    """Pooled features of any served architecture (N×1024 for GoogLeNet, N×1280 for EfficientNet-Lite0) at
    ``meta.input_size``, standardised with ``meta.mean/std``."""
    net.eval()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.stack([model_input(im, meta.input_size, meta.mean, meta.std) for im in images[i:i + batch]]))
        out.append(net.classify(net.forward_features(x))[1].float().numpy())
    return np.concatenate(out)


@torch.inference_mode()
def teacher_features(name: str, images: Sequence[Image.Image], size: int, batch: int = 16) -> np.ndarray:
    """Pooled 1280-d EfficientNet-Lite features (N×1280) of the whole photos at ``size``."""
    from .teachers import OnnxTeacher

    teacher = OnnxTeacher(name)
    out = []
    for i in range(0, len(images), batch):
        x = np.stack([np.asarray(im.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
                      for im in images[i:i + batch]])
        out.append(teacher.outputs(torch.from_numpy(x).permute(0, 3, 1, 2))[0].numpy())
    return np.concatenate(out)
