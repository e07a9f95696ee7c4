"""ICC profiles generated for tests (matrix/TRC, ICC v2), and an independent colour reference.

No profile file is shipped or downloaded: each profile is written from the published primaries of its colour
space. :func:`p3_to_srgb` computes the expected sRGB value of a Display-P3 colour directly (P3 → linear →
XYZ → linear sRGB → sRGB curve, both spaces share the D65 white), without littlecms, so a test compares
the app's conversion against arithmetic it does not share.
"""
from __future__ import annotations

import struct

import numpy as np

D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)
DISPLAY_P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
SRGB = ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060))
ADOBE_RGB = ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060))
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def _xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz_matrix(primaries, white=D65) -> np.ndarray:
    """Linear RGB → XYZ (Y of white = 1) for chromaticities ``primaries`` and ``white``."""
    p = np.stack([_xyz(c) for c in primaries], axis=1)
    scale = np.linalg.solve(p, _xyz(white))
    return p * scale


def _bradford(src_white: np.ndarray, dst_white: np.ndarray) -> np.ndarray:
    s, d = _BRADFORD @ src_white, _BRADFORD @ dst_white
    return np.linalg.inv(_BRADFORD) @ np.diag(d / s) @ _BRADFORD


def srgb_decode(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def rgb_to_srgb(rgb: tuple[int, int, int], primaries=DISPLAY_P3) -> tuple[int, int, int]:
    """The sRGB 8-bit value of an 8-bit colour of a D65 space with ``primaries`` and the sRGB curve
    (Display P3; the profiles of :func:`rgb_profile`), relative colorimetric with clipping."""
    linear = srgb_decode(np.asarray(rgb) / 255.0)
    xyz = rgb_to_xyz_matrix(primaries) @ linear
    out = srgb_encode(np.linalg.solve(rgb_to_xyz_matrix(SRGB), xyz))
    return tuple(int(round(c)) for c in out * 255)  # type: ignore[return-value]


# --- ICC writer -------------------------------------------------------------------------------------
def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in xyz)


def _curve_tag(values: np.ndarray | float) -> bytes:
    if np.isscalar(values):  # a pure gamma
        return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(round(float(values) * 256))) + b"\0\0"
    table = np.round(np.asarray(values) * 65535).astype(">u2")
    return b"curv" + b"\0" * 4 + struct.pack(">I", len(table)) + table.tobytes()


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return (b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)


def _text_tag(text: str) -> bytes:
    return b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"


def _assemble(space: bytes, tags: list[tuple[bytes, bytes]], device_class: bytes = b"mntr") -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, blobs = [], b""
    for sig, blob in tags:
        pad = (-len(blob)) % 4
        entries.append(struct.pack(">4sII", sig, offset + len(blobs), len(blob)))
        blobs += blob + b"\0" * pad
    size = 128 + table_size + len(blobs)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + device_class + space + b"XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4 + struct.pack(">I", 0)
              + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0) + b"".join(_s15(v) for v in D50_XYZ)
              + b"test" + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + blobs


def rgb_profile(primaries=DISPLAY_P3, description: str = "Display P3 (generated)") -> bytes:
    """A matrix/TRC RGB display profile with the sRGB transfer curve and a D65 white (colorants adapted to D50)."""
    matrix = _bradford(_xyz(D65), np.asarray(D50_XYZ)) @ rgb_to_xyz_matrix(primaries)
    curve = _curve_tag(srgb_decode(np.linspace(0.0, 1.0, 1024)))
    tags = [(b"desc", _desc_tag(description)), (b"cprt", _text_tag("generated for tests")),
            (b"wtpt", _xyz_tag(D50_XYZ)),
            (b"rXYZ", _xyz_tag(matrix[:, 0])), (b"gXYZ", _xyz_tag(matrix[:, 1])), (b"bXYZ", _xyz_tag(matrix[:, 2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    return _assemble(b"RGB ", tags)


def gray_profile(gamma: float = 1.0, description: str = "Linear gray (generated)") -> bytes:
    """A grayscale display profile with a pure ``gamma`` curve (1.0: linear light)."""
    tags = [(b"desc", _desc_tag(description)), (b"cprt", _text_tag("generated for tests")),
            (b"wtpt", _xyz_tag(D50_XYZ)), (b"kTRC", _curve_tag(gamma))]
    return _assemble(b"GRAY", tags)


def naive_cmyk_to_srgb(cmyk: tuple[int, int, int, int]) -> tuple[int, int, int]:
    """What :func:`cmyk_profile` means: linear light R = 1 - (C + K) / 2, G = 1 - (M + K) / 2, B = 1 - (Y + K) / 2."""
    c, m, y, k = (v / 255.0 for v in cmyk)
    linear = np.array([1 - (c + k) / 2, 1 - (m + k) / 2, 1 - (y + k) / 2])
    return tuple(int(round(v)) for v in srgb_encode(linear) * 255)  # type: ignore[return-value]


def cmyk_profile(description: str = "Naive CMYK (generated)") -> bytes:
    """An output (printer) profile whose A2B0 lut16 maps CMYK to XYZ as :func:`naive_cmyk_to_srgb` says.

    That mapping is linear in C, M, Y and K (not a printer's, but exact): a CLUT of 2 points per input holds
    it exactly whatever interpolation the colour engine uses within the cube.
    """
    to_xyz = _bradford(_xyz(D65), np.asarray(D50_XYZ)) @ rgb_to_xyz_matrix(SRGB)
    clut = []
    for c in (0, 1):  # the first input varies slowest
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    xyz = to_xyz @ np.array([1 - (c + k) / 2, 1 - (m + k) / 2, 1 - (y + k) / 2])
                    clut += [int(round(v * 32768)) for v in xyz]  # XYZ in lut16: 1.0 is 0x8000
    identity = [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
    lut = (b"mft2" + b"\0" * 4 + struct.pack(">BBBB", 4, 3, 2, 0) + b"".join(_s15(v) for v in identity)
           + struct.pack(">HH", 2, 2) + struct.pack(">8H", *[0, 65535] * 4) + struct.pack(f">{len(clut)}H", *clut)
           + struct.pack(">6H", *[0, 65535] * 3))
    tags = [(b"desc", _desc_tag(description)), (b"cprt", _text_tag("generated for tests")),
            (b"wtpt", _xyz_tag(D50_XYZ)), (b"A2B0", lut)]
    return _assemble(b"CMYK", tags, device_class=b"prtr")
