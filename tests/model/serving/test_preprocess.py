"""Decoding untrusted bytes: every mode, every EXIF orientation, and the ways a file can be broken."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from scalp_model.errors import ImageTooLargeError, InvalidImageError, TruncatedImageError
from scalp_model.serving.preprocess import DECODE_MIN_SIDE, decode_image, model_input, sanitized_bytes
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
