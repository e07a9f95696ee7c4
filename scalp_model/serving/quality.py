"""A photo-quality report a patient can act on before submitting.

Measured on the decoded working-size picture: blur as the variance of the Laplacian (OpenCV) on a
fixed-size grayscale copy, so the figure does not depend on the upload's resolution; exposure as the
share of nearly black and nearly white pixels.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

BLUR_SIDE = 384
BLUR_MIN_VARIANCE = 60.0
DARK_LEVEL, BRIGHT_LEVEL = 20, 245
DARK_SHARE_MAX, BRIGHT_SHARE_MAX = 0.35, 0.30
MEAN_DARK, MEAN_BRIGHT = 55.0, 215.0
MIN_RESOLUTION = 224


@dataclass(frozen=True)
class QualityReport:
    """A photo's quality figures and what the patient can do about them.

    - ``width``, ``height``: the upload's size in pixels as stored in the file (before reduction and EXIF rotation).
    - ``blur_variance``: variance of the Laplacian (Pech-Pacheco et al. 2000) of the grayscale picture with its
      longest side at ``BLUR_SIDE`` (384) px, in squared 8-bit grey levels; below ``BLUR_MIN_VARIANCE`` (60)
      the photo is called blurry.
    - ``mean_brightness``: mean grey level, 0..255; ``dark_fraction``/``bright_fraction``: share of pixels,
      0..1, at or below ``DARK_LEVEL`` (20) / at or above ``BRIGHT_LEVEL`` (245).
    - ``issues``: machine names, a subset of ``low_resolution``, ``blurry``, ``underexposed``, ``overexposed``;
      ``advice``: one sentence a patient can act on per issue, then a general tip when there is any issue.
    """

    width: int
    height: int
    blur_variance: float
    mean_brightness: float
    dark_fraction: float
    bright_fraction: float
    issues: tuple[str, ...] = field(default_factory=tuple)
    advice: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["issues"], data["advice"] = list(self.issues), list(self.advice)
        data["ok"] = self.ok
        return data


def assess_quality(image: Image.Image, original_size: tuple[int, int]) -> QualityReport:
    """The :class:`QualityReport` of a decoded picture (any size and mode; measured on the working-size copy).

    ``original_size``: (width, height) in pixels of the upload as sent, which decides ``low_resolution``
    (shorter side under ``MIN_RESOLUTION``, 224 px: the model's input). Blur is measured at a fixed size so
    that it does not depend on the upload's resolution. Thresholds are heuristics chosen on the demo photos,
    not validated cut-offs. Raises nothing on purpose; a few milliseconds at 512 px.
    """
    gray = np.asarray(image.convert("L"))
    h, w = gray.shape
    scale = BLUR_SIDE / max(h, w)
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    blur = float(cv2.Laplacian(small, cv2.CV_64F).var())
    mean = float(gray.mean())
    dark = float((gray <= DARK_LEVEL).mean())
    bright = float((gray >= BRIGHT_LEVEL).mean())
    issues: list[str] = []
    advice: list[str] = []
    if min(original_size) < MIN_RESOLUTION:
        issues.append("low_resolution")
        advice.append("The photo is small: move closer or use the camera's full resolution.")
    if blur < BLUR_MIN_VARIANCE:
        issues.append("blurry")
        advice.append("The photo looks blurred: hold the camera steady, tap the scalp to focus, and retake.")
    if dark > DARK_SHARE_MAX or mean < MEAN_DARK:
        issues.append("underexposed")
        advice.append("The photo is too dark: add more light (daylight by a window works well) and retake.")
    if bright > BRIGHT_SHARE_MAX or mean > MEAN_BRIGHT:
        issues.append("overexposed")
        advice.append("The photo is washed out: avoid direct flash or sunlight and retake.")
    if issues:
        advice.append("Part the hair so the affected skin is visible, and fill the frame with it.")
    return QualityReport(width=original_size[0], height=original_size[1], blur_variance=round(blur, 1),
                         mean_brightness=round(mean, 1), dark_fraction=round(dark, 3),
                         bright_fraction=round(bright, 3), issues=tuple(issues), advice=tuple(advice))
