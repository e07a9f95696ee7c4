"""Turning untrusted upload bytes into a clean RGB picture and the model's input tensor.

Everything a patient can send passes through :func:`decode_image` first: size caps, Pillow's
decompression-bomb guard, EXIF orientation, odd modes (palette, alpha, CMYK, 16-bit, grayscale), HEIC,
embedded ICC colour profiles (converted to sRGB with littlecms, through Pillow's ``ImageCms``) and JPEGs
whose data is whole but whose end-of-image marker is missing. Large pictures are reduced while they are
decoded (JPEG DCT scaling; other formats in strips of rows) and at most ``SCALPSCOPE_MAX_LARGE_DECODES``
large pictures are decoded at once per process. Failures are :class:`InvalidImageError` with a message a
patient can act on.

This module holds the decoding steps and the model input; three helpers do one job each: colour modes and
ICC profiles (:mod:`scalp_model.serving.colour`), bounded memory for large pictures (:mod:`scalp_model.serving.decode_memory`)
and files that end early (:mod:`scalp_model.serving.truncated`).
"""
from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .. import settings
from .colour import source_profile, to_srgb
from .decode_memory import decode_slot, reduced_rgb
from ..errors import ImageTooLargeError, InvalidImageError
from .truncated import load_pixels

try:  # HEIC/HEIF from iPhones; optional so that a minimal install still reads JPEG/PNG.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
    HEIF_SUPPORTED = False

ImageFile.LOAD_TRUNCATED_IMAGES = False
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "HEIF", "WEBP", "TIFF", "BMP", "GIF"})
ACCEPTED_EXTENSIONS = ("jpg", "jpeg", "png", "heic", "heif", "webp", "tif", "tiff", "bmp", "gif")
WORKING_SIZE = 512  # longest side kept for the quality report and display; the model needs only 224
# JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8) whose longest side still reaches 7/8 of the
# working size: a 12 MP phone photo decodes at 1/8 (500 px) for the model, where most decoding time goes.
DECODE_MIN_FRACTION = 7 / 8
DECODE_MIN_SIDE = int(WORKING_SIZE * DECODE_MIN_FRACTION)
MIN_SIDE = 32


@dataclass(frozen=True)
class DecodedImage:
    """An upload after decoding: RGB at working size, plus what we learnt about the original."""

    image: Image.Image
    original_size: tuple[int, int]
    format: str
    frames: int
    exif_orientation: int
    colour_profile: str | None = None  # description of the embedded ICC profile, None when there was none
    colour_conversion: str = "none"  # "none" (no profile: taken as sRGB), "converted to sRGB" or "ignored: why"
    repairs: tuple[str, ...] = ()  # harmless defects that were tolerated, e.g. a missing JPEG end marker

    def capture(self) -> dict[str, object]:
        """What was learnt while decoding, as stored with the photo (JSON-safe)."""
        return {"format": self.format, "original_size": list(self.original_size), "frames": self.frames,
                "exif_orientation": self.exif_orientation, "colour_profile": self.colour_profile,
                "colour_conversion": self.colour_conversion, "repairs": list(self.repairs)}


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def _open(data: bytes, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLargeError("This picture has far too many pixels to be processed. Please send a normal photo.") from exc
        except UnidentifiedImageError as exc:
            raise InvalidImageError(
                "This file is not a picture we can read. Please upload a JPEG, PNG, HEIC or WebP photo."
            ) from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidImageError("This picture file is damaged and cannot be opened. Please take or export it again.") from exc
    if img.format not in ACCEPTED_FORMATS:
        raise InvalidImageError(
            f"{img.format or 'This'} files are not accepted. Please upload a JPEG, PNG, HEIC or WebP photo."
        )
    w, h = img.size
    if w * h > max_pixels:
        raise ImageTooLargeError(
            f"This picture is {w}×{h} pixels, more than the {max_pixels / 1e6:.0f} megapixels we accept. "
            "Please send a smaller photo."
        )
    if min(w, h) < MIN_SIDE:
        raise InvalidImageError(
            f"This picture is only {w}×{h} pixels, too small to show the scalp. Please send a real photo."
        )
    if max(w, h) > 40 * min(w, h):
        raise InvalidImageError(f"This picture is {w}×{h} pixels: too narrow to be a photo of the scalp.")
    return img


def decode_image(data: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None,
                 working_size: int = WORKING_SIZE) -> DecodedImage:
    """Decode untrusted upload bytes safely into an upright 8-bit sRGB picture.

    ``data``: the file as uploaded (JPEG, MPO, PNG, HEIC/HEIF, WebP, TIFF, BMP or GIF: its first frame), at most
    ``max_bytes`` bytes (default ``SCALPSCOPE_MAX_UPLOAD_MB``, 20 MB) and ``max_pixels`` pixels (default
    ``SCALPSCOPE_MAX_PIXELS``, 60 MP), each side ≥ 32 px and no more than 40 times the other.
    Returns a :class:`DecodedImage` whose ``image`` is RGB with its longest side at most ``working_size`` pixels
    (512 by default; smaller pictures keep their size): EXIF orientation applied, transparency flattened onto
    white, 16-bit levels scaled, an embedded ICC profile converted to sRGB (littlecms via Pillow's ``ImageCms``).
    JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8) that keeps 7/8 of ``working_size``; other large
    pictures are reduced in strips, and pictures over 16 MP wait for a large-decode slot.

    Raises :class:`InvalidImageError` (empty, unreadable, not an accepted format, damaged, too small or too
    narrow), :class:`ImageTooLargeError` (over a cap, a decompression bomb, or no large-decode slot within two
    minutes) or :class:`TruncatedImageError` (the file ends before the picture), each with a message a patient
    can act on. Thread-safe.
    """
    max_bytes = settings.max_upload_bytes() if max_bytes is None else max_bytes
    max_pixels = settings.max_pixels() if max_pixels is None else max_pixels
    if not data:
        raise InvalidImageError("The file is empty. Please choose the photo again.")
    if len(data) > max_bytes:
        raise ImageTooLargeError(
            f"This file is {_mb(len(data))}; the limit is {_mb(max_bytes)}. Please send a smaller photo."
        )
    img = _open(data, max_pixels)
    original_size, fmt = img.size, img.format or "?"
    frames = int(getattr(img, "n_frames", 1) or 1)
    icc = img.info.get("icc_profile") or None
    repairs: tuple[str, ...] = ()
    try:
        draft = None
        if fmt in ("JPEG", "MPO"):
            # Decode at reduced scale straight from the DCT: a 12 MP photo never becomes 36 MB of pixels.
            draft = _draft_request(img.size, int(working_size * DECODE_MIN_FRACTION))
            img.draft("RGB", draft)
        img.seek(0)
        with decode_slot(img):
            img, repairs = load_pixels(img, data, fmt, draft)
            # Read after decoding: a PNG's getexif() decodes the whole picture to look for an eXIf chunk
            # after the pixels, which must not happen outside the large-decode slot.
            orientation = _orientation(img)
            source = source_profile(icc, img.mode)
            img = reduced_rgb(img, working_size, keep_cmyk=source.space == "CMYK")
        img, conversion = to_srgb(img, source)
        img = _exif_transpose(img, orientation)
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError("This picture has far too many pixels to be processed.") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImageError(
            "This picture file is damaged and cannot be read. Sending the same file again will not help: "
            "please choose the original photo on your device, or take a new one."
        ) from exc
    return DecodedImage(image=img, original_size=original_size, format=fmt, frames=frames,
                        exif_orientation=orientation, colour_profile=source.description,
                        colour_conversion=conversion, repairs=repairs)


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation (1-8), 1 when absent or unreadable: corrupt EXIF must not block the photo."""
    try:
        return int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - any EXIF parsing failure
        return 1


def _draft_request(size: tuple[int, int], min_side: int) -> tuple[int, int]:
    """The size to ask ``Image.draft`` for so that the decoded longest side stays ≥ ``min_side``.

    Pillow picks the largest scale 1/s with both sides ≥ the request; asking with the photo's own aspect
    ratio (rather than a square) lets a 4000×3000 photo go to 1/8 instead of stopping at 1/4.
    """
    longest = max(size)
    return max(1, -(-size[0] * min_side // longest)), max(1, -(-size[1] * min_side // longest))


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _exif_transpose(img: Image.Image, orientation: int) -> Image.Image:
    """Apply the EXIF orientation; unlike ``ImageOps.exif_transpose`` this survives corrupt EXIF."""
    method = _TRANSPOSE.get(orientation)
    return img.transpose(method) if method is not None else img


def model_input(image: Image.Image, size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """The whole picture remapped to ``size``×``size`` (no crop, as the paper), standardised, CHW float32."""
    pixels = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    table = _standardise_table(tuple(mean), tuple(std))
    # One table look-up per channel instead of float arithmetic on every pixel: same values, half the time.
    return np.stack([table[c][pixels[..., c]] for c in range(3)])


@functools.lru_cache(maxsize=8)
def _standardise_table(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 256) float32: the standardised value of every 8-bit level, per channel."""
    levels = np.arange(256, dtype=np.float32)[None, :] * np.float32(1.0 / 255.0)
    table = (levels - np.asarray(mean, dtype=np.float32)[:, None]) / np.asarray(std, dtype=np.float32)[:, None]
    table.setflags(write=False)
    return table


def resized_rgb(image: Image.Image, size: int) -> np.ndarray:
    """The picture the model saw, as uint8 HWC (for overlays)."""
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def sanitized_bytes(image: Image.Image, *, max_side: int = 2048, quality: int = 90) -> tuple[bytes, str]:
    """Re-encode an upright RGB image with no metadata at all (EXIF, GPS, ICC, comments are dropped)."""
    img = image.copy()
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue(), "image/jpeg"


__all__ = [
    "ACCEPTED_EXTENSIONS", "DecodedImage", "HEIF_SUPPORTED", "decode_image", "model_input", "resized_rgb",
    "sanitized_bytes",
]
