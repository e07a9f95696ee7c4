"""Turning untrusted upload bytes into a clean RGB picture and the model's input tensor.

Everything a patient can send passes through :func:`decode_image` first: size caps, Pillow's
decompression-bomb guard, EXIF orientation, odd modes (palette, alpha, CMYK, 16-bit, grayscale) and
HEIC. Failures are :class:`InvalidImageError` with a message a patient can act on.
"""
from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from . import settings
from .errors import ImageTooLargeError, InvalidImageError

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
                "This file is not a picture we can read. Please upload a JPEG, PNG or HEIC photo."
            ) from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidImageError("This picture file is damaged and cannot be opened. Please take or export it again.") from exc
    if img.format not in ACCEPTED_FORMATS:
        raise InvalidImageError(
            f"{img.format or 'This'} files are not accepted. Please upload a JPEG, PNG or HEIC photo."
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


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is flattened onto white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
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


def decode_image(data: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None,
                 working_size: int = WORKING_SIZE) -> DecodedImage:
    """Decode untrusted bytes safely into an upright RGB image no larger than ``working_size``."""
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
    try:
        orientation = int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # corrupt EXIF must not block the photo itself
        orientation = 1
    try:
        if fmt in ("JPEG", "MPO"):
            # Decode at reduced scale straight from the DCT: a 12 MP photo never becomes 36 MB of pixels.
            img.draft("RGB", _draft_request(img.size, int(working_size * DECODE_MIN_FRACTION)))
        img.seek(0)
        img.load()
        img = _exif_transpose(img, orientation)
        img = _to_rgb(img)
    except InvalidImageError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImageError(
            "This picture file is incomplete or damaged (perhaps the upload was cut short). Please send it again."
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError("This picture has far too many pixels to be processed.") from exc
    if max(img.size) > working_size:
        img.thumbnail((working_size, working_size), Image.Resampling.BILINEAR)
    return DecodedImage(image=img, original_size=original_size, format=fmt, frames=frames,
                        exif_orientation=orientation)


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
