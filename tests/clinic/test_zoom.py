"""clinic.zoom: a window of the stored photo's own pixels, decoded by the safe decoder."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from clinic.zoom import window, zoom_into
from scalp_model.errors import ScalpScopeError


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_window_is_a_part_of_the_photo_moved_inside_it() -> None:
    assert window((2048, 1536), 1, 0.5, 0.5) == (0, 0, 2048, 1536)
    assert window((2048, 1536), 2, 0.5, 0.5) == (512, 384, 1536, 1152)
    assert window((2048, 1536), 4, 0.0, 1.0) == (0, 1152, 512, 1536)  # a corner, not past the edge
    with pytest.raises(ValueError):
        window((100, 100), 5, 0.5, 0.5)


def test_zoom_keeps_the_full_resolution_pixels() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (1536, 2048, 3), dtype=np.uint8)  # as large as a stored copy
    zoomed = zoom_into(_png(pixels), 2, 0.25, 0.75)
    assert zoomed.size == (2048, 1536) and zoomed.box == (0, 768, 1024, 1536)
    crop = np.asarray(Image.open(io.BytesIO(zoomed.data)))
    assert crop.shape == (768, 1024, 3)
    assert np.array_equal(crop, pixels[768:1536, 0:1024])  # the photo's own pixels, not a reduced copy


def test_bytes_that_are_not_a_photo_are_refused() -> None:
    with pytest.raises(ScalpScopeError):
        zoom_into(b"not a photo", 2)
