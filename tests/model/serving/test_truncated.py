"""Files that end early: a JPEG missing only its end marker is accepted whole, one really cut short says how
much of it is there (scalp_model.serving.truncated, through decode_image)."""
from __future__ import annotations

import functools
import io

import numpy as np
import pytest
from PIL import Image

from scalp_model.errors import TruncatedImageError
from scalp_model.serving.preprocess import decode_image
from tests.factories import photo_array


@functools.lru_cache(maxsize=8)
def _jpeg(width: int, height: int, progressive: bool = False) -> bytes:
    """A generated photo as a JPEG; large sizes are a small photo scaled up (quick to make)."""
    small = Image.fromarray(photo_array(min(width, 400), min(height, 300)))
    buf = io.BytesIO()
    small.resize((width, height), Image.Resampling.BICUBIC).save(buf, format="JPEG", quality=85,
                                                                   progressive=progressive)
    return buf.getvalue()


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("size,working", [((640, 480), 512), ((4000, 3000), 512), ((4000, 3000), 2048),
                                          ((301, 217), 512)])
def test_jpeg_without_end_marker_is_accepted_whole(progressive: bool, size: tuple[int, int], working: int) -> None:
    data = _jpeg(*size, progressive)
    assert data.endswith(b"\xff\xd9")
    whole = decode_image(data, working_size=working)
    for variant in (data[:-2], data[:-1], data[:-2] + b"\x00" * 64):  # no marker, half a marker, padding
        decoded = decode_image(variant, working_size=working)
        assert decoded.image.size == whole.image.size
        assert np.array_equal(np.asarray(decoded.image), np.asarray(whole.image))
    assert decode_image(data[:-2], working_size=working).repairs == ("missing JPEG end-of-image marker",)
    assert whole.repairs == ()


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("keep", [0.2, 0.5, 0.8, 0.97])
def test_jpeg_really_cut_short_says_how_much_is_there(progressive: bool, keep: float) -> None:
    data = _jpeg(640, 480, progressive)
    with pytest.raises(TruncatedImageError, match="JPEG file ends early") as info:
        decode_image(data[: int(len(data) * keep)])
    fraction = info.value.fraction_present
    assert fraction is not None and 0.0 <= fraction < 1.0
    if not progressive:  # sequential: rows arrive top to bottom, in proportion to the bytes
        assert abs(fraction - keep) < 0.2
        assert f"top {int(fraction * 100)}%" in str(info.value)
    assert "cannot be assessed on its own" in str(info.value)


def test_cut_jpeg_at_reduced_scale_is_still_detected() -> None:
    data = _jpeg(4000, 3000)  # decoded at 1/8 for the model
    with pytest.raises(TruncatedImageError):
        decode_image(data[: int(len(data) * 0.9)])
