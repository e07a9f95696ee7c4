"""The bench's input photos: real ones from the shared data folder when present, else generated JPEGs."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from .. import settings

SHARED_SCALP = settings.REPO_ROOT.parent / "shared" / "data" / "scalp"


def generated_photo(width: int, height: int, seed: int) -> bytes:
    """A skin-toned JPEG (quality 88) with smooth gradients and sensor-like noise (σ = 12)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([190 + 30 * np.sin(x / 40.0 + seed), 140 + 30 * np.cos(y / 35.0), 120 + 20 * np.sin((x + y) / 60)], -1)
    arr = np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def phone_photo(images: list[bytes]) -> tuple[bytes, str]:
    """A 4000×3000 JPEG (quality 90) with a photo's smoothness: the first image of the set scaled up."""
    src = Image.open(io.BytesIO(images[0])).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    src.save(buf, format="JPEG", quality=90)
    return buf.getvalue(), "first set image scaled up to 4000×3000, quality 90"


def load_image_set(folder: Path | None, size: int) -> tuple[list[bytes], str]:
    """``size`` photos (file bytes) from ``folder`` (default: the shared scalp set), repeated as needed; else
    generated 720×480 JPEGs. Also says where they came from."""
    folder = folder or (SHARED_SCALP if SHARED_SCALP.is_dir() else None)
    if folder is not None:
        from ..training.data import folder_images

        files = [p for p in folder_images(folder) if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
        if files:
            data = [files[i % len(files)].read_bytes() for i in range(size)]
            return data, f"{min(size, len(files))} real photos from {folder}"
    return [generated_photo(720, 480, i) for i in range(size)], "generated 720×480 JPEGs"
