"""Out-of-scope gate: how far an image's pooled features lie from the training scalp photos.

A Mahalanobis distance in a PCA subspace of the 1024 pooled GoogLeNet features, fitted on training
images and thresholded on validation. It costs nothing at inference (the features come from the
same forward pass) and needs no extra network.
"""
from __future__ import annotations

import numpy as np
import torch


def fit_gate(features: np.ndarray, components: int = 32) -> dict[str, torch.Tensor]:
    """The gate's state from (n, d) pooled features of in-scope training photos (d = 1024 for GoogLeNet).

    Principal components by SVD of the centred features; ``k = min(components, n, d)`` are kept. Returns
    float32 tensors, stored in the checkpoint: ``mean`` (d,), ``components`` (k, d) (unit rows) and ``scale``
    (k,), the standard deviation of the training features along each component (floored at 1e-6, so a
    constant direction cannot divide by zero). A Mahalanobis distance restricted to the leading components
    (after Lee et al. 2018, "A simple unified framework for detecting out-of-distribution samples"); the
    threshold is chosen separately on validation photos. Raises ``ValueError`` unless ``features`` is 2-D with
    at least two rows.
    """
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"fit_gate needs (n, d) features of at least 2 photos; got shape {feats.shape}")
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
    """(n,) float32 out-of-scope scores for (n, d) pooled features: the mean over the gate's k components of
    the squared standardised coordinate, ((x - mean) · component / scale)². Unitless, ≥ 0, about 1 for the
    training photos (by construction) and larger the further a photo lies from them."""
    mean = state["mean"].numpy()
    comps = state["components"].numpy()
    scale = state["scale"].numpy()
    z = ((np.asarray(pooled, dtype=np.float32) - mean) @ comps.T) / scale
    return (z**2).mean(axis=1)
