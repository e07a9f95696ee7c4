"""A generator of hostile and broken uploads: what patients (and attackers) will send.

Each case carries the bytes, a file name as a browser would send it, and what must happen: ``accept``
(a correct result) or ``reject`` (a clear, named error). Used by the core suite and the app suite.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from tests.factories import image_bytes, photo_array

POLYGLOT_PAYLOAD = b"<script>alert('polyglot')</script><?php system($_GET['c']); ?>"
GPS_MARKER = "HostileTestCamera"


@dataclass(frozen=True)
class HostileCase:
    name: str
    filename: str
    data: bytes
    expect: str  # "accept" or "reject"
    must_not_contain: tuple[bytes, ...] = field(default_factory=tuple)  # in what gets stored


def _png_chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png_claiming(width: int, height: int, bad_crc: bool = False) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr, 0 if bad_crc else None)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + _png_chunk(b"IEND", b""))


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF header is patched to claim huge dimensions."""
    data = bytearray(image_bytes("JPEG", width=64, height=64))
    i = data.find(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _save(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _exif_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(Image.fromarray(photo_array()), "JPEG", exif=exif.tobytes())


def _gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = GPS_MARKER
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 24.0), "E", (2.0, 21.0, 3.0)
    return _save(Image.fromarray(photo_array()), "JPEG", exif=exif.tobytes())


def _corrupt_exif_jpeg() -> bytes:
    data = image_bytes("JPEG")
    payload = b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff" + b"\x00" * 40
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def generate_cases(max_upload_bytes: int = 20 * 1024 * 1024) -> list[HostileCase]:
    photo = Image.fromarray(photo_array())
    frames = [Image.fromarray(photo_array(seed=s)).convert("P") for s in range(3)]
    rgba = photo.convert("RGBA")
    rgba.putalpha(128)
    palette_t = photo.convert("P")
    sixteen = Image.fromarray((photo_array()[..., 0].astype(np.uint16) * 257))
    jpeg = image_bytes("JPEG")
    cases = [
        HostileCase("empty file", "empty.jpg", b"", "reject"),
        HostileCase("text renamed .jpg", "notes.jpg", b"Dear doctor, my scalp itches.\n" * 10, "reject"),
        HostileCase("html renamed .png", "page.png", b"<!doctype html><html><body>hi</body></html>", "reject"),
        HostileCase("svg", "drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                    "reject"),
        HostileCase("pdf", "report.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "reject"),
        HostileCase("random bytes", "noise.jpg", np.random.default_rng(0).bytes(5000), "reject"),
        HostileCase("truncated jpeg", "cut.jpg", image_bytes("JPEG", 640, 480)[:3000], "reject"),
        HostileCase("truncated png", "cut.png", image_bytes("PNG", 640, 480)[:4000], "reject"),
        HostileCase("jpeg SOI only", "soi.jpg", b"\xff\xd8\xff\xe0", "reject"),
        HostileCase("png bad crc", "crc.png", _png_claiming(300, 300, bad_crc=True), "reject"),
        HostileCase("png decompression bomb", "bomb.png", _png_claiming(60_000, 60_000), "reject"),
        HostileCase("jpeg decompression bomb", "bomb.jpg", _jpeg_claiming(65_000, 65_000), "reject"),
        HostileCase("1x100000 pixels", "line.png", _png_claiming(1, 100_000), "reject"),
        HostileCase("oversize upload", "huge.jpg", jpeg + b"\x00" * (max_upload_bytes + 1), "reject"),
        HostileCase("animated gif", "anim.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
                    "accept"),
        HostileCase("multi-page tiff", "pages.tiff", _save(photo, "TIFF", save_all=True, append_images=[photo]),
                    "accept"),
        HostileCase("16-bit png", "deep.png", _save(sixteen, "PNG"), "accept"),
        HostileCase("cmyk jpeg", "print.jpg", _save(photo.convert("CMYK"), "JPEG"), "accept"),
        HostileCase("palette with transparency", "pal.png", _save(palette_t, "PNG", transparency=0), "accept"),
        HostileCase("rgba half transparent", "alpha.png", _save(rgba, "PNG"), "accept"),
        HostileCase("grayscale jpeg", "gray.jpg", _save(photo.convert("L"), "JPEG"), "accept"),
        HostileCase("webp", "phone.webp", _save(photo, "WEBP"), "accept"),
        HostileCase("polyglot jpeg+html/php", "poly.jpg", jpeg + POLYGLOT_PAYLOAD, "accept",
                    must_not_contain=(POLYGLOT_PAYLOAD, b"<script>")),
        HostileCase("corrupt exif", "badexif.jpg", _corrupt_exif_jpeg(), "accept"),
        HostileCase("gps exif", "gps.jpg", _gps_jpeg(), "accept", must_not_contain=(GPS_MARKER.encode(),)),
        HostileCase("odd file name: traversal", "../../../etc/passwd.jpg", jpeg, "accept"),
        HostileCase("odd file name: unicode and spaces", "Kopfhaut – 头皮 ✓ (1).JPG", jpeg, "accept"),
        HostileCase("odd file name: very long", "a" * 300 + ".jpg", jpeg, "accept"),
        HostileCase("odd file name: no extension", "photo", jpeg, "accept"),
    ]
    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        cases.append(HostileCase("heic", "iphone.HEIC", _save(photo, "HEIF"), "accept"))
    except ImportError:  # pragma: no cover
        pass
    cases += [HostileCase(f"exif orientation {o}", f"orient{o}.jpg", _exif_jpeg(o), "accept") for o in range(1, 9)]
    return cases
