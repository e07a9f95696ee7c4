"""Files that end early: a JPEG missing only its end-of-image marker is accepted, a picture really cut short
is refused with how much of it is there. Used by :func:`scalp_model.serving.preprocess.decode_image`.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..errors import TruncatedImageError

JPEG_EOI = b"\xff\xd9"
# Bytes put between a JPEG's data and an added end marker to tell a complete file from a cut one: a decoder
# that has finished the picture never reads them; one that has not decodes them into the missing part.
_PROBE_FILLER = bytes(range(1, 255))
_RETRY_WONT_HELP = ("Sending the same file again will not help, and the part that is there cannot be assessed on its "
                    "own. Please choose the original photo on your device, or take a new one.")


def load_pixels(img: Image.Image, data: bytes, fmt: str, draft: tuple[int, int] | None
                ) -> tuple[Image.Image, tuple[str, ...]]:
    """Decode the pixels of ``img`` (opened from ``data``) and name the harmless defects tolerated.

    A JPEG missing only its end-of-image marker is decoded whole (at the same ``draft`` scale) and its repair
    named. Raises :class:`TruncatedImageError` (with ``fraction_present``, 0..1, for JPEGs) when the file itself
    ends before the picture does; re-raises Pillow's other ``OSError``.
    """
    try:
        img.load()
        return img, ()
    except OSError as exc:
        truncated = "truncated" in str(exc)
        if fmt not in ("JPEG", "MPO") or not truncated:
            if truncated:
                raise TruncatedImageError(
                    f"This {fmt} file ends early: part of the picture is missing from the file itself, so sending "
                    "the same file again will not help and the part that is there cannot be assessed on its own. "
                    "Please choose the original photo on your device, or take a new one.", fraction_present=None,
                ) from exc
            raise
    body = data.rstrip(b"\xff")  # a lone 0xFF is half a marker
    complete = _decode_jpeg(body + JPEG_EOI, draft)
    probe = _decode_jpeg(body + _PROBE_FILLER + JPEG_EOI, draft)
    a, b = np.asarray(complete), np.asarray(probe)
    if a.shape == b.shape and np.array_equal(a, b):
        return complete, ("missing JPEG end-of-image marker",)
    rows = np.flatnonzero((a != b).reshape(a.shape[0], -1).any(axis=1)) if a.shape == b.shape else np.array([0])
    fraction = float(rows[0]) / a.shape[0] if rows.size else 0.0
    percent = int(fraction * 100)
    if percent >= 1:
        what = (f"only the top {percent}% of the picture is in it and the bottom {100 - percent}% is missing from "
                "the file itself")
    else:
        what = "almost all of the picture is missing from the file itself"
    raise TruncatedImageError(f"This JPEG file ends early: {what}. {_RETRY_WONT_HELP}", fraction_present=fraction)


def _decode_jpeg(data: bytes, draft: tuple[int, int] | None) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    if draft is not None:
        img.draft("RGB", draft)
    img.load()
    return img
