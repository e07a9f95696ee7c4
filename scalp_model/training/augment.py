"""Training augmentations on decoded PIL images (applied before ``model_input``, never at inference).

Each transform is a small callable class configured in ``__init__`` and called with the image and a
``numpy.random.Generator`` so that a seed fixes every draw.

* :class:`RotateScale` is the paper's augmentation: a random rotation in [-90°, 90°] and a random
  scale in [1, 2] about the centre, output the same size as the input (corners outside the picture
  are black, as MATLAB's ``imageDataAugmenter`` does).
* :class:`Harmonise` works against the source shortcut described in the data README: it brings every
  picture down to DermNet-thumbnail size, re-encodes it as JPEG at a random quality and sometimes cuts
  a footer strip (stock banners, atlas footers), so that resolution, compression and footers stop
  telling the classes apart.
"""
from __future__ import annotations

import io
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageEnhance

Augment = Callable[[Image.Image, np.random.Generator], Image.Image]


class Compose:
    def __init__(self, transforms: Sequence[Augment]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        for t in self.transforms:
            img = t(img, rng)
        return img


class RotateScale:
    """Random rotation in ``[-degrees, degrees]`` and zoom in ``scale`` about the centre."""

    def __init__(self, degrees: float = 90.0, scale: tuple[float, float] = (1.0, 2.0)) -> None:
        if scale[0] <= 0 or scale[1] < scale[0]:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
        self.degrees, self.scale = float(degrees), scale

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        angle = float(rng.uniform(-self.degrees, self.degrees))
        s = float(rng.uniform(*self.scale))
        w, h = img.size
        if angle:
            img = img.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
        if s != 1.0:
            cw, ch = max(1, round(w / s)), max(1, round(h / s))
            left, top = (w - cw) // 2, (h - ch) // 2
            img = img.resize((w, h), Image.Resampling.BILINEAR, box=(left, top, left + cw, top + ch))
        return img


class Flip:
    """Horizontal flip with probability ``p`` (a scalp has no preferred side)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < self.p else img


class ColourJitter:
    """Mild brightness/contrast/saturation changes (camera and lighting differences)."""

    def __init__(self, strength: float = 0.15) -> None:
        self.strength = strength

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
            img = enhancer(img).enhance(float(rng.uniform(1 - self.strength, 1 + self.strength)))
        return img


class Harmonise:
    """Thumbnail-size downscale + JPEG re-encode (+ optional footer cut) with probability ``p``."""

    def __init__(self, p: float = 0.8, longest: tuple[int, int] = (200, 320), quality: tuple[int, int] = (40, 90),
                 footer_p: float = 0.3, footer_max: float = 0.1) -> None:
        self.p, self.longest, self.quality = p, longest, quality
        self.footer_p, self.footer_max = footer_p, footer_max

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        if rng.random() < self.footer_p:
            w, h = img.size
            cut = int(h * rng.uniform(0.0, self.footer_max))
            if cut > 0:
                img = img.crop((0, 0, w, h - cut))
        if rng.random() >= self.p:
            return img
        target = int(rng.integers(self.longest[0], self.longest[1] + 1))
        if max(img.size) > target:
            img = img.copy()
            img.thumbnail((target, target), Image.Resampling.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(rng.integers(self.quality[0], self.quality[1] + 1)))
        buf.seek(0)
        return Image.open(buf).convert("RGB")


def training_augment(*, rotate: float = 90.0, scale: tuple[float, float] = (1.0, 2.0), harmonise: bool = True,
                     flip: bool = True, jitter: float = 0.0) -> Compose:
    """The paper's rotation/scale, plus (by default) source harmonisation and flips."""
    steps: list[Augment] = []
    if harmonise:
        steps.append(Harmonise())
    if flip:
        steps.append(Flip())
    if jitter > 0:
        steps.append(ColourJitter(jitter))
    steps.append(RotateScale(rotate, scale))
    return Compose(steps)
