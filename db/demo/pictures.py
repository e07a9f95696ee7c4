"""Generated "scalp" pictures for demo rows: a small pool per look, each a 96x72 JPEG and its overlay PNG,
coloured by the app's own map colouring (:func:`scalp_model.serving.cam.blend_heatmap`).

Importing this module loads ``scalp_model`` (and torch); ``db.demo`` imports it only while seeding.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from scalp_model.serving.cam import blend_heatmap

IMAGE_SIZE = (96, 72)  # width, height: a phone photo's 4:3, small enough for 100,000 rows
POOL_PER_LABEL = 16


@dataclass(frozen=True)
class PoolImage:
    jpeg: bytes
    sha256: str
    overlay_png: bytes
    width: int
    height: int


def _picture(rng: np.random.Generator, label: str) -> PoolImage:
    """A smooth skin-toned picture with a psoriasis-like (red, silvery) or seborrheic-like (yellow) patch."""
    w, h = IMAGE_SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    skin = np.array([224, 180, 150], np.float32) * rng.uniform(0.75, 1.05)
    img = np.broadcast_to(skin, (h, w, 3)).copy()
    img *= (0.9 + 0.1 * np.sin(xx / rng.uniform(6, 14) + rng.uniform(0, 6)))[..., None]  # hair parting / shading
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h
    rx, ry = rng.uniform(0.12, 0.3) * w, rng.uniform(0.12, 0.3) * h
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    if label == "psoriasis":
        patch = (d < 1).astype(np.float32)  # sharp edge
        colour = np.array([190, 70, 70], np.float32)
        scale = (np.sin(xx * 1.3) * np.sin(yy * 1.1) > 0.6) & (d < 0.8)
        img = img * (1 - patch[..., None]) + colour * patch[..., None]
        img[scale] = [225, 225, 230]
    else:
        patch = np.exp(-d * 1.5)  # diffuse
        colour = np.array([215, 185, 110], np.float32)
        img = img * (1 - 0.8 * patch[..., None]) + colour * 0.8 * patch[..., None]
    smooth = np.clip(img, 0, 255)
    img = np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)  # a little sensor noise
    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format="JPEG", quality=85, optimize=True)
    jpeg = buffer.getvalue()
    # The overlay is blended over the noise-free picture (noise would make the PNG ~10 KB).
    heat = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.6 * max(rx, ry)) ** 2))
    blended = blend_heatmap(smooth / 255, heat.astype(np.float32), image_weight=0.55)
    buffer = io.BytesIO()
    Image.fromarray(blended).save(buffer, format="PNG", optimize=True)
    return PoolImage(jpeg, hashlib.sha256(jpeg).hexdigest(), buffer.getvalue(), w, h)


@cache
def picture_pool(seed: int = 0) -> dict[str, tuple[PoolImage, ...]]:
    """A few generated pictures per look, shared by all rows (each row still stores its own copy)."""
    rng = np.random.default_rng(seed)
    return {label: tuple(_picture(rng, label) for _ in range(POOL_PER_LABEL)) for label in ("psoriasis", "seb")}
