"""Turning untrusted upload bytes into a clean RGB picture and the model's input tensor.

Everything a patient can send passes through :func:`decode_image` first: size caps, Pillow's
decompression-bomb guard, EXIF orientation, odd modes (palette, alpha, CMYK, 16-bit, grayscale), HEIC,
embedded ICC colour profiles (converted to sRGB with littlecms, through Pillow's ``ImageCms``) and JPEGs
whose data is whole but whose end-of-image marker is missing. Large pictures are reduced while they are
decoded (JPEG DCT scaling; other formats in strips of rows) and at most ``SCALPSCOPE_MAX_LARGE_DECODES``
large pictures are decoded at once per process. Failures are :class:`InvalidImageError` with a message a
patient can act on.
"""
from __future__ import annotations

import functools
import io
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from .. import settings
from ..errors import ImageTooLargeError, InvalidImageError, TruncatedImageError

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
# A decode that holds more than this many pixels at full size waits for one of the process's
# SCALPSCOPE_MAX_LARGE_DECODES slots (a 59 MP RGBA PNG alone is 236 MB of pixels).
LARGE_DECODE_PIXELS = 16_000_000
LARGE_DECODE_WAIT_S = 120.0
STRIP_PIXELS = 4_000_000  # at most this many pixels converted and reduced at a time (a strip of whole rows)
JPEG_EOI = b"\xff\xd9"
# Bytes put between a JPEG's data and an added end marker to tell a complete file from a cut one: a decoder
# that has finished the picture never reads them; one that has not decodes them into the missing part.
_PROBE_FILLER = bytes(range(1, 255))


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


def _to_rgb(img: Image.Image, high: float | None = None) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is flattened onto white.

    ``high``: the level that becomes 255 in 32-bit and float pictures (by default from the picture's own
    maximum; pass the whole picture's when converting it strip by strip).
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


def decode_image(data: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None,
                 working_size: int = WORKING_SIZE) -> DecodedImage:
    """Decode untrusted bytes safely into an upright sRGB image no larger than ``working_size``.

    Raises :class:`InvalidImageError` (or a subclass) with a message a patient can act on.
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
        with _decode_slot(img):
            img, repairs = _load(img, data, fmt, draft)
            # Read after decoding: a PNG's getexif() decodes the whole picture to look for an eXIf chunk
            # after the pixels, which must not happen outside the large-decode slot.
            orientation = _orientation(img)
            source = _source_profile(icc, img.mode)
            img = _reduced_rgb(img, working_size, keep_cmyk=source.space == "CMYK")
        img, conversion = _to_srgb(img, source)
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


# --- decoding in bounded memory -------------------------------------------------------------------------
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _large_decode_slots() -> threading.BoundedSemaphore:
    n = settings.max_large_decodes()
    with _slots_lock:
        if n not in _slots:
            _slots[n] = threading.BoundedSemaphore(n)
        return _slots[n]


class _decode_slot:
    """Holds one of the process's large-decode slots while a picture of more than LARGE_DECODE_PIXELS is
    decoded and reduced (after ``draft``, so a phone JPEG decoded at 1/8 never waits)."""

    def __init__(self, img: Image.Image) -> None:
        self.semaphore = _large_decode_slots() if img.size[0] * img.size[1] > LARGE_DECODE_PIXELS else None

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


def _reduced_rgb(img: Image.Image, working_size: int, *, keep_cmyk: bool = False) -> Image.Image:
    """8-bit RGB (CMYK kept when ``keep_cmyk``) with the longest side at most ``working_size``.

    A large picture is converted and box-reduced in strips of rows, so no full-size copy in another mode
    (RGBA composite, palette expansion, 16-bit scaling) is ever made next to the decoded one.
    """
    if keep_cmyk and img.mode == "CMYK":
        convert = lambda im: im  # noqa: E731 - converted from its CMYK profile afterwards
    else:
        high = float(img.getextrema()[1]) if img.mode in ("I", "F") else None  # one scale for every strip
        convert = functools.partial(_to_rgb, high=high)
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


# --- JPEGs without their end marker ---------------------------------------------------------------------
def _load(img: Image.Image, data: bytes, fmt: str, draft: tuple[int, int] | None
          ) -> tuple[Image.Image, tuple[str, ...]]:
    """Decode the pixels; a JPEG missing only its end-of-image marker is accepted (and the repair named)."""
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
    raise TruncatedImageError(
        f"This JPEG file ends early: {what}. Sending the same file again will not help, and the part that is "
        "there cannot be assessed on its own. Please choose the original photo on your device, or take a new one.",
        fraction_present=fraction,
    )


def _decode_jpeg(data: bytes, draft: tuple[int, int] | None) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    if draft is not None:
        img.draft("RGB", draft)
    img.load()
    return img


# --- colour -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    icc: bytes | None = None
    space: str | None = None  # "RGB", "GRAY" or "CMYK" when the profile can be used for this picture
    description: str | None = None
    note: str = "none"


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})
_PROFILE_MODES = {"RGB": frozenset({"RGB", "RGBA", "RGBa", "RGBX", "P", "PA"}), "GRAY": _GRAY_MODES,
                  "CMYK": frozenset({"CMYK"})}


def _source_profile(icc: bytes | None, mode: str) -> _Source:
    """The embedded profile if it describes this picture's colours, with why it is not used otherwise."""
    if not icc:
        return _Source()
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = str(profile.profile.xcolor_space).strip()
        description = _printable(ImageCms.getProfileDescription(profile)) or "unnamed profile"
    except (OSError, ValueError, TypeError, AttributeError):  # ImageCms.PyCMSError is an OSError
        return _Source(note="ignored: the embedded colour profile cannot be read; colours taken as sRGB")
    if mode not in _PROFILE_MODES.get(space, ()):
        return _Source(description=description,
                       note=f"ignored: a {space or 'unknown'} profile does not fit a {mode} picture; taken as sRGB")
    return _Source(icc=icc, space=space, description=description)


def _printable(text: str, limit: int = 80) -> str:
    return "".join(c for c in str(text) if c.isprintable()).strip()[:limit]


@functools.lru_cache(maxsize=16)
def _transform(icc: bytes, in_mode: str) -> ImageCms.ImageCmsTransform:
    # NOCACHE: littlecms's one-pixel cache is not safe when sessions apply one transform from several threads.
    return ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, in_mode, "RGB",
                                   renderingIntent=ImageCms.Intent.PERCEPTUAL, flags=ImageCms.Flags.NOCACHE)


def _to_srgb(img: Image.Image, source: _Source) -> tuple[Image.Image, str]:
    """Pixels of ``img`` (RGB, or CMYK for a CMYK profile) in sRGB, from the picture's embedded profile."""
    if source.icc is None:
        return _to_rgb(img), source.note
    in_mode = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}[source.space or "RGB"]
    if img.mode != in_mode:
        img = img.convert(in_mode)  # RGB whose channels are equal (gray), or RGB for an RGB profile
    try:
        return ImageCms.applyTransform(img, _transform(source.icc, in_mode)), "converted to sRGB"
    except (OSError, ValueError, TypeError):  # a profile littlecms opens but cannot build a transform from
        return _to_rgb(img), "ignored: the embedded colour profile cannot be applied; colours taken as sRGB"


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
