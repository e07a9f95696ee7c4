"""Decoding untrusted bytes: every mode, every EXIF orientation, and the ways a file can be broken."""
from __future__ import annotations

import functools
import io
import struct
import threading
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from scalp_model.errors import ImageTooLargeError, InvalidImageError, TruncatedImageError
from scalp_model.serving.preprocess import DECODE_MIN_SIDE, decode_image, model_input, sanitized_bytes
from tests import colour_profiles
from tests.factories import image_bytes, photo_array


@pytest.mark.parametrize(
    "fmt,mode,kwargs",
    [
        ("JPEG", "RGB", {}),
        ("JPEG", "L", {}),
        ("JPEG", "CMYK", {}),
        ("PNG", "RGB", {}),
        ("PNG", "RGBA", {}),
        ("PNG", "LA", {}),
        ("PNG", "P", {}),
        ("PNG", "L", {}),
        ("PNG", "1", {}),
        ("PNG", "I;16", {}),
        ("WEBP", "RGB", {}),
        ("BMP", "RGB", {}),
        ("TIFF", "RGB", {}),
        ("GIF", "P", {}),
    ],
)
def test_every_mode_becomes_rgb(fmt: str, mode: str, kwargs: dict) -> None:
    if mode == "I;16":
        arr = (photo_array()[..., 0].astype(np.uint16) * 257)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        data = buf.getvalue()
    else:
        data = image_bytes(fmt, mode=mode, **kwargs)
    decoded = decode_image(data)
    assert decoded.image.mode == "RGB"
    assert decoded.original_size == (320, 240)
    arr = np.asarray(decoded.image)
    assert arr.std() > 5, "content survived decoding"


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    arr = np.full((64, 64), 32768, dtype=np.uint16)  # mid-grey in 16 bits
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    rgb = np.asarray(decode_image(buf.getvalue()).image)
    assert 120 <= rgb.mean() <= 135


def test_palette_transparency_flattened_on_white() -> None:
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    img.paste((200, 0, 0, 255), (0, 0, 32, 64))
    buf = io.BytesIO()
    img.convert("P").save(buf, format="PNG", transparency=0)
    rgb = np.asarray(decode_image(buf.getvalue()).image)
    assert rgb.shape == (64, 64, 3)


def test_heic_round_trip() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.fromarray(photo_array()).save(buf, format="HEIF")
    decoded = decode_image(buf.getvalue())
    assert decoded.format == "HEIF" and decoded.image.size == (320, 240)


def _marker_image() -> Image.Image:
    """Red top-left quadrant on blue: lets us see where the top-left ended up."""
    img = Image.new("RGB", (200, 100), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 100, 50))
    return img


# Where the red (originally top-left) corner must appear after applying each EXIF orientation.
EXPECTED_RED_CORNER = {1: "tl", 2: "tr", 3: "br", 4: "bl", 5: "tl", 6: "tr", 7: "br", 8: "bl"}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    _marker_image().save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    img = decode_image(buf.getvalue()).image
    w, h = img.size
    assert (w, h) == ((100, 200) if orientation >= 5 else (200, 100))
    arr = np.asarray(img).astype(int)
    corners = {"tl": arr[2, 2], "tr": arr[2, w - 3], "bl": arr[h - 3, 2], "br": arr[h - 3, w - 3]}
    reddest = max(corners, key=lambda k: corners[k][0] - corners[k][2])
    assert reddest == EXPECTED_RED_CORNER[orientation]


def test_corrupt_exif_does_not_block_photo() -> None:
    data = bytearray(image_bytes("JPEG"))
    # APP1 segment claiming to be EXIF but full of garbage, inserted after SOI
    payload = b"Exif\x00\x00" + b"\xff\x13garbage-not-tiff" * 4
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    broken = bytes(data[:2]) + segment + bytes(data[2:])
    decoded = decode_image(broken)
    assert decoded.image.size == (320, 240)


@pytest.mark.parametrize(
    "data,needle",
    [
        (b"", "empty"),
        (b"hello, this is not an image\n" * 20, "not a picture"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", "not a picture"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "not a picture"),
    ],
)
def test_non_images_rejected_with_clear_message(data: bytes, needle: str) -> None:
    with pytest.raises(InvalidImageError, match=needle):
        decode_image(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "BMP"])
def test_files_cut_short_say_so_without_inviting_a_useless_retry(fmt: str) -> None:
    data = image_bytes(fmt, width=640, height=480)
    with pytest.raises(TruncatedImageError, match="ends early") as info:
        decode_image(data[: len(data) // 2])
    message = str(info.value)
    assert "again will not help" in message and "original photo" in message
    assert "cut short" not in message and "send it again" not in message.lower()


# --- 2. JPEGs whose end-of-image marker is missing --------------------------------------------------
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


# --- 1. embedded colour profiles -----------------------------------------------------------------------
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


def test_oversize_file_rejected_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError, match="limit"):
        decode_image(image_bytes("PNG"), max_bytes=1000)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims huge dimensions: the classic decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_rejected() -> None:
    with pytest.raises(ImageTooLargeError):
        decode_image(_png_header_only(50_000, 50_000))


def test_pixel_cap_applies_below_pillow_guard() -> None:
    with pytest.raises(ImageTooLargeError, match="megapixels"):
        decode_image(image_bytes("PNG", width=400, height=300), max_pixels=100_000)


@pytest.mark.parametrize("size", [(1, 100_000), (100_000, 1), (20, 20)])
def test_degenerate_shapes_rejected(size: tuple[int, int]) -> None:
    with pytest.raises(InvalidImageError):
        decode_image(_png_header_only(*size))


def test_large_jpeg_decoded_at_reduced_size() -> None:
    data = image_bytes("JPEG", width=4000, height=3000, quality=80)
    decoded = decode_image(data)
    assert decoded.original_size == (4000, 3000)
    # 1/8 of the DCT: the cheapest scale that still keeps the longest side at DECODE_MIN_SIDE or more
    assert decoded.image.size == (500, 375)


@pytest.mark.parametrize("size", [(4000, 3000), (3000, 4000), (2000, 1500), (900, 600), (5000, 800)])
def test_reduced_decoding_keeps_enough_pixels(size: tuple[int, int]) -> None:
    decoded = decode_image(image_bytes("JPEG", width=size[0], height=size[1], quality=80))
    w, h = decoded.image.size
    assert DECODE_MIN_SIDE <= max(w, h) <= 512
    assert abs(w / h - size[0] / size[1]) < 0.02  # aspect ratio kept


def test_larger_working_size_keeps_its_detail() -> None:
    """The dermatologist's copy is decoded with working_size=2048: it must not shrink to the model's size."""
    decoded = decode_image(image_bytes("JPEG", width=4000, height=3000, quality=80), working_size=2048)
    assert 1792 <= max(decoded.image.size) <= 2048


def test_table_standardisation_equals_the_arithmetic() -> None:
    img = Image.fromarray(photo_array(300, 200, seed=4))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    pixels = np.asarray(img.resize((224, 224), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    expected = ((pixels - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)
    got = model_input(img, 224, mean, std)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.fromarray(photo_array(seed=i)).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buf.getvalue())
    assert decoded.frames == 3 and decoded.image.mode == "RGB"


def test_model_input_is_whole_image_standardised() -> None:
    img = Image.fromarray(photo_array(400, 200))
    x = model_input(img, 224, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    # no crop: the dark blob at 60% width stays at 60% width after the remap
    col = np.asarray(x[1]).mean(axis=0)
    assert abs(int(np.argmin(col)) - round(0.6 * 224)) <= 12


def test_sanitized_bytes_drop_gps_and_exif() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 0.0)
    exif[0x010F] = "PhoneMaker"
    buf = io.BytesIO()
    Image.fromarray(photo_array()).save(buf, format="JPEG", exif=exif.tobytes())
    assert b"PhoneMaker" in buf.getvalue()
    decoded = decode_image(buf.getvalue())
    clean, mime = sanitized_bytes(decoded.image)
    assert mime == "image/jpeg" and b"PhoneMaker" not in clean
    reopened = Image.open(io.BytesIO(clean))
    assert not reopened.getexif() and reopened.size == (240, 320)


# --- 6. large pictures in bounded memory ----------------------------------------------------------------
def _pattern(mode: str, size: tuple[int, int]) -> Image.Image:
    rgb = Image.fromarray(photo_array(400, 300, seed=3)).resize(size, Image.Resampling.BICUBIC)
    if mode == "RGBA":
        img = rgb.convert("RGBA")
        alpha = np.zeros(size[::-1], dtype=np.uint8)
        alpha[:, : size[0] // 2] = 255
        img.putalpha(Image.fromarray(alpha))
        return img
    if mode == "P":
        return rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    if mode == "I;16":
        return Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    return rgb.convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "I;16"])
def test_strip_reduction_equals_reducing_the_whole_picture(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large pictures are converted and reduced a few rows at a time: the result must be the same pixels."""
    from scalp_model.serving import preprocess

    img = _pattern(mode, (2600, 1900))
    factor = max(img.size) // 512
    whole = preprocess._to_rgb(img.copy()).reduce(factor)
    whole.thumbnail((512, 512), Image.Resampling.BILINEAR)
    monkeypatch.setattr(preprocess, "STRIP_PIXELS", 300_000)  # many strips, one of them partial
    strips = preprocess._reduced_rgb(img.copy(), 512)
    assert strips.mode == "RGB" and strips.size == whole.size
    assert np.array_equal(np.asarray(strips), np.asarray(whole))


def _png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    _pattern("RGB", size).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def test_large_decodes_wait_for_a_slot_and_are_refused_clearly_when_it_never_comes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scalp_model.serving import preprocess

    monkeypatch.setattr(preprocess, "LARGE_DECODE_PIXELS", 1_000_000)
    monkeypatch.setattr(preprocess, "LARGE_DECODE_WAIT_S", 0.3)
    monkeypatch.setenv("SCALPSCOPE_MAX_LARGE_DECODES", "1")
    large, small = _png((1400, 1000)), _png((900, 700))
    slot = preprocess._large_decode_slots()
    assert slot.acquire(timeout=5)  # another session is decoding a large picture
    try:
        with pytest.raises(ImageTooLargeError, match="busy with other very large pictures"):
            decode_image(large)
        assert decode_image(small).image.size == (512, 398)  # small pictures never wait
    finally:
        slot.release()
    assert decode_image(large).image.size == (512, 366)  # the slot is free again


def test_a_png_is_not_decoded_outside_the_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a PNG's EXIF decodes all of it (the eXIf chunk may follow the pixels): not before the slot."""
    from scalp_model.serving import preprocess

    monkeypatch.setattr(preprocess, "LARGE_DECODE_PIXELS", 1_000_000)
    loaded_outside: list[bool] = []
    held = threading.local()
    real_enter, real_exit = preprocess._decode_slot.__enter__, preprocess._decode_slot.__exit__
    real_load = ImageFile.ImageFile.load

    def enter(self):  # noqa: ANN001
        held.inside = True
        return real_enter(self)

    def exit_(self, *exc):  # noqa: ANN001
        held.inside = False
        return real_exit(self, *exc)

    def load(self):  # noqa: ANN001
        if getattr(self, "_im", None) is None:  # this call decodes the pixels
            loaded_outside.append(not getattr(held, "inside", False))
        return real_load(self)

    monkeypatch.setattr(preprocess._decode_slot, "__enter__", enter)
    monkeypatch.setattr(preprocess._decode_slot, "__exit__", exit_)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    _pattern("RGB", (1400, 1000)).save(buf, format="PNG", exif=exif.tobytes())
    decoded = decode_image(buf.getvalue())
    assert decoded.exif_orientation == 6 and decoded.image.size == (366, 512)
    assert loaded_outside and not any(loaded_outside)
