"""Embedded colour profiles converted to sRGB in every container (scalp_model.serving.colour, through decode_image)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scalp_model.serving.preprocess import decode_image, model_input, sanitized_bytes
from tests import colour_profiles
from tests.factories import image_bytes, photo_array


P3_PATCHES = ((230, 40, 45), (200, 120, 100))  # a red and a skin tone, as a Display-P3 phone stores them


def _patch_image(colours, mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, (64 * len(colours), 64))
    for i, colour in enumerate(colours):
        img.paste(colour, (64 * i, 0, 64 * (i + 1), 64))
    return img


def _patch_values(decoded_image: Image.Image, n: int) -> list[tuple[int, ...]]:
    arr = np.asarray(decoded_image).astype(float)
    w = arr.shape[1] // n
    return [tuple(np.round(arr[16:-16, w * i + w // 4: w * (i + 1) - w // 4].reshape(-1, 3).mean(0)).astype(int))
            for i in range(n)]


def test_display_p3_example_of_the_issue() -> None:
    """The reported numbers: (230, 40, 45) and (200, 120, 100) in Display P3 look like (251, 0, 28), (213, 115, 95)."""
    buf = io.BytesIO()
    _patch_image(P3_PATCHES).save(buf, format="PNG", icc_profile=colour_profiles.rgb_profile())
    decoded = decode_image(buf.getvalue())
    assert _patch_values(decoded.image, 2) == [(251, 0, 28), (213, 115, 95)]
    assert decoded.colour_conversion == "converted to sRGB"
    assert decoded.colour_profile == "Display P3 (generated)"
    assert decoded.capture()["colour_conversion"] == "converted to sRGB"


CONTAINERS = [("JPEG", {"quality": 95, "subsampling": 0}), ("PNG", {}), ("WEBP", {"lossless": True}),
              ("TIFF", {}), ("HEIF", {"quality": -1})]


@pytest.mark.parametrize("fmt,kwargs", CONTAINERS, ids=[c[0] for c in CONTAINERS])
@pytest.mark.parametrize("primaries,name", [(colour_profiles.DISPLAY_P3, "p3"), (colour_profiles.ADOBE_RGB, "adobe")])
def test_rgb_profiles_are_converted_to_srgb_in_every_container(fmt: str, kwargs: dict, primaries, name: str) -> None:
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif")
    colours = ((230, 40, 45), (200, 120, 100), (40, 160, 70), (60, 80, 200), (128, 128, 128))
    buf = io.BytesIO()
    _patch_image(colours).save(buf, format=fmt, icc_profile=colour_profiles.rgb_profile(primaries, name), **kwargs)
    decoded = decode_image(buf.getvalue())
    assert decoded.colour_conversion == "converted to sRGB" and decoded.colour_profile == name
    expected = [colour_profiles.rgb_to_srgb(c, primaries) for c in colours]
    tolerance = 4 if fmt in ("JPEG", "HEIF") else 1  # lossy containers move a flat patch by a level or two
    for got, want in zip(_patch_values(decoded.image, len(colours)), expected):
        assert max(abs(g - w) for g, w in zip(got, want)) <= tolerance, (got, want)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_profile_is_converted(fmt: str) -> None:
    colours = ((0, 0, 0, 0), (0, 200, 200, 0), (30, 120, 140, 10), (100, 50, 0, 60))
    buf = io.BytesIO()
    _patch_image(colours, mode="CMYK").save(buf, format=fmt, icc_profile=colour_profiles.cmyk_profile(),
                                             **({"quality": 95} if fmt == "JPEG" else {}))
    decoded = decode_image(buf.getvalue())
    assert decoded.colour_conversion == "converted to sRGB" and decoded.image.mode == "RGB"
    for got, colour in zip(_patch_values(decoded.image, len(colours)), colours):
        want = colour_profiles.naive_cmyk_to_srgb(colour)
        assert max(abs(g - w) for g, w in zip(got, want)) <= 2, (colour, got, want)


def test_gray_profile_is_converted() -> None:
    """A linear-light gray profile: stored level 128 is 50 % light, which sRGB writes as 188."""
    buf = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buf, format="PNG", icc_profile=colour_profiles.gray_profile(1.0))
    decoded = decode_image(buf.getvalue())
    expected = round(float(colour_profiles.srgb_encode(128 / 255)) * 255)
    assert decoded.image.mode == "RGB" and decoded.colour_conversion == "converted to sRGB"
    assert np.abs(np.asarray(decoded.image).astype(int) - expected).max() <= 1


def test_converted_pixels_reach_the_stored_copy_and_the_model_input() -> None:
    """Every consumer gets the sRGB pixels: the stored JPEG (which carries no profile) and the model's tensor."""
    buf = io.BytesIO()
    _patch_image(P3_PATCHES).save(buf, format="JPEG", quality=95, subsampling=0,
                                  icc_profile=colour_profiles.rgb_profile())
    data = buf.getvalue()
    stored_bytes, _ = sanitized_bytes(decode_image(data, working_size=2048).image)
    stored = Image.open(io.BytesIO(stored_bytes))
    assert "icc_profile" not in stored.info
    red = _patch_values(stored.convert("RGB"), 2)[0]
    assert abs(red[0] - 251) <= 4 and red[1] <= 6  # not the raw (230, 40, 45)
    decoded = decode_image(data)
    x = model_input(decoded.image, 224, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert x[0, 100, 20] * 255 > 245


def test_pictures_without_profile_or_with_a_broken_one_are_taken_as_srgb() -> None:
    plain = decode_image(image_bytes("PNG"))
    assert plain.colour_profile is None and plain.colour_conversion == "none"
    buf = io.BytesIO()
    Image.fromarray(photo_array()).save(buf, format="PNG", icc_profile=b"\x00\x00\x01\x00not a profile" * 20)
    broken = decode_image(buf.getvalue())
    assert broken.colour_conversion.startswith("ignored")
    assert np.array_equal(np.asarray(broken.image), np.asarray(plain.image))


def test_a_profile_of_the_wrong_kind_is_ignored() -> None:
    buf = io.BytesIO()  # a gray profile in an RGB picture cannot describe its colours
    Image.fromarray(photo_array()).save(buf, format="PNG", icc_profile=colour_profiles.gray_profile())
    decoded = decode_image(buf.getvalue())
    assert decoded.colour_conversion.startswith("ignored") and decoded.image.mode == "RGB"
    assert np.asarray(decoded.image).std(axis=2).mean() > 1  # colours kept, not turned gray


def test_profiled_large_png_is_converted_after_reduction() -> None:
    arr = np.zeros((3000, 4000, 3), dtype=np.uint8)
    arr[:] = P3_PATCHES[0]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", icc_profile=colour_profiles.rgb_profile())
    decoded = decode_image(buf.getvalue())
    assert max(decoded.image.size) == 512
    assert tuple(np.asarray(decoded.image)[100, 100]) == (251, 0, 28)
