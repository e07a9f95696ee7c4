"""Zooming into a stored photo for the review: a window of the full-resolution stored copy (up to 2048 px), cut
on the server, so the clinician sees the photo's own pixels at 2x-4x. Stored bytes are decoded only through
``scalp_model.serving.preprocess.decode_image`` (the safe decoder), at their full size."""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from scalp_model.errors import ScalpScopeError as UnreadablePhoto  # what the safe decoder raises
from scalp_model.serving.preprocess import decode_image

ZOOMS = (1, 2, 3, 4)  # the zoom levels the review offers
FULL_SIZE = 4096  # above the stored copy's 2048 px cap: decode_image keeps every pixel


@dataclass(frozen=True)
class Zoomed:
    """A window of a photo: encoded bytes (PNG), and its box in the photo's pixels (left, top, right, bottom)."""

    data: bytes
    box: tuple[int, int, int, int]
    size: tuple[int, int]  # the whole photo's width and height


def window(size: tuple[int, int], zoom: int, across: float, down: float) -> tuple[int, int, int, int]:
    """The box of ``1/zoom`` of the photo's width and height centred at ``across``, ``down`` (0-1 of the width
    and height), moved inside the photo. Raises ``ValueError`` for a zoom outside :data:`ZOOMS`."""
    if zoom not in ZOOMS:
        raise ValueError(f"zoom must be one of {ZOOMS}, not {zoom!r}")
    width, height = size
    w, h = max(1, round(width / zoom)), max(1, round(height / zoom))
    left = min(max(0, round(across * width - w / 2)), width - w)
    top = min(max(0, round(down * height - h / 2)), height - h)
    return left, top, left + w, top + h


@lru_cache(maxsize=16)
def zoom_into(data: bytes, zoom: int, across: float = 0.5, down: float = 0.5) -> Zoomed:
    """The window :func:`window` of the stored photo ``data`` at its full resolution, as PNG. Raises the safe
    decoder's ``ScalpScopeError`` (:data:`UnreadablePhoto`) for bytes that are not a photo, ``ValueError`` for a zoom outside :data:`ZOOMS`."""
    picture = decode_image(data, working_size=FULL_SIZE).image
    box = window(picture.size, zoom, across, down)
    buffer = io.BytesIO()
    picture.crop(box).save(buffer, format="PNG")
    return Zoomed(buffer.getvalue(), box, picture.size)
