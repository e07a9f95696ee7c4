"""Generated pictures that are certainly not scalp photos, for the out-of-scope gate's rejection report.

Deterministic for a seed: documents (lines of dark glyph blocks on paper), landscapes (sky gradient,
hills, sun), plain gradients, checkerboards and noise. Nothing is downloaded.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("document", "landscape", "gradient", "checkerboard", "noise")


def _document(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    paper = tuple(int(v) for v in rng.integers(225, 256, 3))
    img = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(img)
    y = int(rng.integers(10, 30))
    while y < h - 20:
        x = int(rng.integers(10, 25))
        while x < w - 30:
            word = int(rng.integers(8, 40))
            ink = int(rng.integers(0, 80))
            draw.rectangle([x, y, min(x + word, w - 10), y + 7], fill=(ink, ink, ink))
            x += word + int(rng.integers(4, 9))
        y += int(rng.integers(14, 22))
    return img


def _landscape(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    arr = np.zeros((h, w, 3), np.float32)
    top, bottom = rng.uniform(100, 200, 3) * np.array([0.6, 0.8, 1.2]), rng.uniform(180, 255, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    arr[:] = top * (1 - t) + bottom * t
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for k in range(int(rng.integers(1, 4))):
        base = int(h * rng.uniform(0.5, 0.8))
        pts = [(0, h)] + [(int(x), int(base - 40 * np.sin(x / w * np.pi * rng.uniform(1, 3) + k)))
                          for x in np.linspace(0, w, 12)] + [(w, h)]
        green = (int(rng.integers(20, 90)), int(rng.integers(90, 170)), int(rng.integers(20, 80)))
        draw.polygon(pts, fill=green)
    cx, cy, r = int(rng.integers(20, w - 20)), int(rng.integers(10, h // 3)), int(rng.integers(8, 25))
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 240, 180))
    return img.filter(ImageFilter.GaussianBlur(1))


def _gradient(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    t = (xx * np.cos(angle) + yy * np.sin(angle))
    t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
    return Image.fromarray((a * (1 - t[..., None]) + b * t[..., None]).astype(np.uint8))


def _checkerboard(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    cell = int(rng.integers(8, 40))
    yy, xx = np.mgrid[0:h, 0:w]
    mask = ((xx // cell + yy // cell) % 2).astype(bool)
    c1, c2 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    return Image.fromarray(np.where(mask[..., None], c1, c2).astype(np.uint8))


def _noise(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


_MAKERS = {"document": _document, "landscape": _landscape, "gradient": _gradient,
           "checkerboard": _checkerboard, "noise": _noise}


def non_skin_images(n: int = 50, seed: int = 0, size: tuple[int, int] = (320, 240)) -> list[tuple[str, Image.Image]]:
    """``n`` (kind, RGB image) pairs cycling through :data:`KINDS`."""
    rng = np.random.default_rng(seed)
    w, h = size
    return [(KINDS[i % len(KINDS)], _MAKERS[KINDS[i % len(KINDS)]](rng, w, h)) for i in range(n)]
