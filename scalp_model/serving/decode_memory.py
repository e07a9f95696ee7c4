"""Decoding large uploads in bounded memory.

A picture of more than ``LARGE_DECODE_PIXELS`` (after JPEG reduced decoding) waits for one of the process's
``SCALPSCOPE_MAX_LARGE_DECODES`` slots, is converted and reduced in strips of rows so that no full-size copy
in another mode is made, and the freed pages are given back to the system afterwards. Used by
:func:`scalp_model.serving.preprocess.decode_image`.
"""
from __future__ import annotations

import functools
import threading

from PIL import Image

from .. import settings
from .colour import to_rgb
from ..errors import ImageTooLargeError

# A decode that holds more than this many pixels at full size waits for one of the process's
# SCALPSCOPE_MAX_LARGE_DECODES slots (a 59 MP RGBA PNG alone is 236 MB of pixels).
LARGE_DECODE_PIXELS = 16_000_000
LARGE_DECODE_WAIT_S = 120.0
STRIP_PIXELS = 4_000_000  # at most this many pixels converted and reduced at a time (a strip of whole rows)

_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def large_decode_slots() -> threading.BoundedSemaphore:
    """The process's semaphore of large-decode slots (one per configured count)."""
    n = settings.max_large_decodes()
    with _slots_lock:
        if n not in _slots:
            _slots[n] = threading.BoundedSemaphore(n)
        return _slots[n]


class decode_slot:
    """Holds one of the process's large-decode slots while a picture of more than LARGE_DECODE_PIXELS is
    decoded and reduced (after ``draft``, so a phone JPEG decoded at 1/8 never waits).

    Raises :class:`ImageTooLargeError` ("busy") when no slot frees up within ``LARGE_DECODE_WAIT_S`` seconds.
    """

    def __init__(self, img: Image.Image) -> None:
        self.semaphore = large_decode_slots() if img.size[0] * img.size[1] > LARGE_DECODE_PIXELS else None

    def __enter__(self) -> None:
        if self.semaphore is not None and not self.semaphore.acquire(timeout=LARGE_DECODE_WAIT_S):
            raise ImageTooLargeError("The server is busy with other very large pictures. Please try again in a "
                                     "minute, or send a smaller photo (under 16 megapixels).")

    def __exit__(self, *exc: object) -> None:
        if self.semaphore is not None:
            self.semaphore.release()
            _return_free_memory()


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> object | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def _return_free_memory() -> None:
    """Give the pages freed by a large decode back to the system (glibc keeps freed memory in per-thread
    arenas otherwise: sessions run in threads, so each would keep a picture's worth of resident memory)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def reduced_rgb(img: Image.Image, working_size: int, *, keep_cmyk: bool = False) -> Image.Image:
    """8-bit RGB (CMYK kept when ``keep_cmyk``) with the longest side at most ``working_size`` pixels.

    A large picture is converted and box-reduced in strips of rows, so no full-size copy in another mode
    (RGBA composite, palette expansion, 16-bit scaling) is ever made next to the decoded one; the result
    equals converting and reducing the whole picture at once (tested). The last step is a bilinear thumbnail.
    """
    if keep_cmyk and img.mode == "CMYK":
        convert = lambda im: im  # noqa: E731 - converted from its CMYK profile afterwards
    else:
        high = float(img.getextrema()[1]) if img.mode in ("I", "F") else None  # one scale for every strip
        convert = functools.partial(to_rgb, high=high)
    w, h = img.size
    factor = max(w, h) // working_size
    if factor >= 2 and w * h > 4 * working_size * working_size:
        rows = factor * max(1, STRIP_PIXELS // (w * factor))  # a multiple of the factor: strips reduce exactly
        out: Image.Image | None = None
        for top in range(0, h, rows):
            strip = convert(img.crop((0, top, w, min(h, top + rows)))).reduce(factor)
            if out is None:
                out = Image.new(strip.mode, (strip.width, -(-h // factor)))
            out.paste(strip, (0, top // factor))
        img.close()
        img = out  # type: ignore[assignment]
    else:
        img = convert(img)
    if max(img.size) > working_size:
        img.thumbnail((working_size, working_size), Image.Resampling.BILINEAR)
    return img
