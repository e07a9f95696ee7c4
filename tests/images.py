"""Generated images for tests only (nothing here is imported by ``scalp_model``)."""
from __future__ import annotations

import numpy as np
from PIL import Image


def texture_image(label: int, rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A toy two-class image for tests: reddish blotches (0) or pale stripes (1), with noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    base = rng.uniform(150, 200, 3).astype(np.float32)
    if label == 0:
        field = np.sin(xx / rng.uniform(4, 8)) * np.sin(yy / rng.uniform(4, 8))
        colour = np.array([70, -30, -30], np.float32)
    else:
        field = np.sin((xx + yy) / rng.uniform(2, 4))
        colour = np.array([30, 30, 30], np.float32)
    arr = base + field[..., None] * colour + rng.normal(0, 12, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
