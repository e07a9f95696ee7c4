"""Colour of a decoded upload: any Pillow mode to 8-bit RGB, and embedded ICC profiles to sRGB.

Profiles are applied with littlecms through Pillow's ``ImageCms`` (perceptual intent). A profile that
cannot be read, applied, or does not fit the picture's mode is ignored and the colours are taken as sRGB;
the reason is recorded in the capture metadata, never raised. Used by :func:`scalp_model.serving.preprocess.decode_image`.
"""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms

NO_PROFILE = "none"  # the conversion note of a picture without an embedded profile (taken as sRGB)
CONVERTED = "converted to sRGB"


def to_rgb(img: Image.Image, high: float | None = None) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is flattened onto white.

    16-bit levels are scaled by 255/65535; 32-bit integer and float pictures by 255/``high`` (by default the
    picture's own maximum, or 255 when that is ≤ 255; pass the whole picture's when converting it strip by
    strip). Palette, gray, CMYK (without profile) and alpha modes are converted by Pillow.
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or (high if high is not None else arr.max()) > 255 else 255.0
        arr = np.clip(arr / hi * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


@dataclass(frozen=True)
class ColourSource:
    """What an upload's embedded profile says about its colours."""

    icc: bytes | None = None  # the profile, only when it can be used for this picture
    space: str | None = None  # "RGB", "GRAY" or "CMYK" when the profile can be used for this picture
    description: str | None = None  # the profile's own description, as recorded with the photo
    note: str = NO_PROFILE  # why the profile is not used, when it is not


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})
_PROFILE_MODES = {"RGB": frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA"}), "GRAY": _GRAY_MODES,
                  "CMYK": frozenset({"CMYK"})}


def source_profile(icc: bytes | None, mode: str) -> ColourSource:
    """The embedded profile if it describes this picture's colours, with why it is not used otherwise."""
    if not icc:
        return ColourSource()
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = str(profile.profile.xcolor_space).strip()
        description = _printable(ImageCms.getProfileDescription(profile)) or "unnamed profile"
    except (OSError, ValueError, TypeError, AttributeError):  # ImageCms.PyCMSError is an OSError
        return ColourSource(note="ignored: the embedded colour profile cannot be read; colours taken as sRGB")
    if mode not in _PROFILE_MODES.get(space, ()):
        return ColourSource(description=description,
                            note=f"ignored: a {space or 'unknown'} profile does not fit a {mode} picture; taken as sRGB")
    return ColourSource(icc=icc, space=space, description=description)


def _printable(text: str, limit: int = 80) -> str:
    return "".join(c for c in str(text) if c.isprintable()).strip()[:limit]


@functools.lru_cache(maxsize=16)
def _transform(icc: bytes, in_mode: str) -> ImageCms.ImageCmsTransform:
    # NOCACHE: littlecms's one-pixel cache is not safe when sessions apply one transform from several threads.
    return ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, in_mode, "RGB",
                                   renderingIntent=ImageCms.Intent.PERCEPTUAL, flags=ImageCms.Flags.NOCACHE)


def to_srgb(img: Image.Image, source: ColourSource) -> tuple[Image.Image, str]:
    """Pixels of ``img`` (RGB, or CMYK for a CMYK profile) in 8-bit sRGB, and what was done (for the record)."""
    if source.icc is None:
        return to_rgb(img), source.note
    in_mode = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}[source.space or "RGB"]
    if img.mode != in_mode:
        img = img.convert(in_mode)  # RGB whose channels are equal (gray), or RGB for an RGB profile
    try:
        return ImageCms.applyTransform(img, _transform(source.icc, in_mode)), CONVERTED
    except (OSError, ValueError, TypeError):  # a profile littlecms opens but cannot build a transform from
        return to_rgb(img), "ignored: the embedded colour profile cannot be applied; colours taken as sRGB"
