"""Out-of-scope gate: how far an image's pooled features lie from the training scalp photos.

A Mahalanobis distance in a PCA subspace of the 1024 pooled GoogLeNet features, fitted on training
images and thresholded on validation. It costs nothing at inference (the features come from the
same forward pass) and needs no extra network.
"""
from __future__ import annotations

import numpy as np
import torch


def fit_gate(features: np.ndarray, components: int = 32) -> dict[str, torch.Tensor]:
    feats = np.asarray(features, dtype=np.float64)
    mean = feats.mean(axis=0)
    centred = feats - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = int(min(components, vt.shape[0]))
    scale = s[:k] / np.sqrt(max(len(feats) - 1, 1))
    scale = np.maximum(scale, 1e-6)
    return {
        "mean": torch.tensor(mean, dtype=torch.float32),
        "components": torch.tensor(vt[:k], dtype=torch.float32),
        "scale": torch.tensor(scale, dtype=torch.float32),
    }


def gate_scores(pooled: np.ndarray, state: dict[str, torch.Tensor]) -> np.ndarray:
    """Mean squared standardised distance per image (about 1 for typical in-scope images)."""
    mean = state["mean"].numpy()
    comps = state["components"].numpy()
    scale = state["scale"].numpy()
    z = ((np.asarray(pooled, dtype=np.float32) - mean) @ comps.T) / scale
    return (z**2).mean(axis=1)
