"""One uploaded photo, decoded once: the stored copy for the dermatologist and the working copy for the
quality check and the model both come from a single :func:`scalp_model.serving.preprocess.decode_image` call."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from scalp_model.serving.preprocess import WORKING_SIZE, DecodedImage, decode_image, sanitized_bytes
from scalp_model.serving.quality import QualityReport, assess_quality

STORED_SIDE = 2048  # longest side of the copy a dermatologist (or a reader-study reader) sees, in pixels
ORIGINS = ("upload", "camera")


@dataclass(frozen=True, eq=False)
class Photo:
    """A photo read once, kept while the patient fills the form.

    ``decoded.image``: upright sRGB working copy, longest side ≤ :data:`scalp_model.serving.preprocess.WORKING_SIZE`
    (512 px), what the quality check and the model see; ``decoded`` also carries what decoding learnt
    (original size, format, EXIF orientation, colour profile, repairs). ``stored``: the copy that is kept,
    JPEG q90 with no metadata at all (EXIF, GPS, ICC, comments dropped), longest side ≤ :data:`STORED_SIDE`;
    ``stored_size``: its (width, height) in pixels. ``origin``: "upload" or "camera".
    """

    origin: str
    decoded: DecodedImage
    quality: QualityReport
    stored: bytes
    stored_mime: str
    stored_size: tuple[int, int]

    def capture(self) -> dict[str, Any]:
        """What is stored about the capture (JSON-safe): origin, decoding facts and the quality report."""
        return {"source": self.origin, **self.decoded.capture(), "quality": self.quality.to_dict()}


def working_copy(image: Image.Image, size: int = WORKING_SIZE) -> Image.Image:
    """``image`` reduced (never enlarged) so its longest side is at most ``size`` pixels."""
    if max(image.size) <= size:
        return image
    small = image.copy()
    small.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return small


def read_photo(data: bytes, origin: str = "upload") -> Photo:
    """Decode untrusted bytes once and derive both copies and the quality report.

    Raises the decoder's :class:`scalp_model.errors.ScalpScopeError` subclasses (``InvalidImageError``,
    ``ImageTooLargeError`` …), whose messages a patient can act on; ``ValueError`` for an unknown origin.
    """
    if origin not in ORIGINS:
        raise ValueError(f"origin {origin!r}: use one of {ORIGINS}")
    decoded = decode_image(data, working_size=STORED_SIDE)
    stored, mime = sanitized_bytes(decoded.image, max_side=STORED_SIDE)
    working = replace(decoded, image=working_copy(decoded.image))
    quality = assess_quality(working.image, working.original_size)
    return Photo(origin, working, quality, stored, mime, decoded.image.size)
