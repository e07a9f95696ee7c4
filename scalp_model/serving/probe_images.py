"""Generated skin-like probe pictures for checking an int8 build against fp32 at load time.

Real photos never ship with the code, so the engine checks a freshly rebuilt int8 model on these
deterministic pictures (skin tones, texture, a reddish patch). They only catch a broken build; the
accuracy figures are the held-out ones recorded by ``python -m scalp_model quantize``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def skin_photo_array(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A skin-toned textured picture with a reddish patch, uint8 HWC: photo-like input without real photos.

    Used where a probe must look like the inputs the model sees (int8 verification, tests); it is not a
    stand-in for real data in any figure.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([200 + 20 * np.sin(x / 17.0), 150 + 25 * np.cos(y / 13.0), 130 + 10 * np.sin((x + y) / 23.0)], -1)
    noise = rng.normal(0, 18, size=(height, width, 3))
    blobs = 60 * np.exp(-(((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) / (2 * (min(width, height) / 6) ** 2)))
    arr = base + noise - blobs[..., None] * np.array([0.2, 1.0, 1.0])
    return np.clip(arr, 0, 255).astype(np.uint8)


def skin_photo(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    """:func:`skin_photo_array` as an RGB PIL image of ``width`` x ``height`` pixels."""
    return Image.fromarray(skin_photo_array(width, height, seed))
