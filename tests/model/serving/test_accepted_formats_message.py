"""The messages for an unreadable or refused file name every photo format a patient can send (issue 18,
item 11): WebP is accepted, so it is named."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from scalp_model.errors import InvalidImageError
from scalp_model.serving.preprocess import ACCEPTED_FORMATS, decode_image


def test_unreadable_file_names_webp() -> None:
    assert "WEBP" in ACCEPTED_FORMATS
    with pytest.raises(InvalidImageError, match="JPEG, PNG, HEIC or WebP"):
        decode_image(b"this is not a picture at all" * 10)


def test_refused_format_names_webp() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buffer, format="PPM")  # Pillow reads it; the app does not accept it
    with pytest.raises(InvalidImageError, match="PPM files are not accepted.*JPEG, PNG, HEIC or WebP"):
        decode_image(buffer.getvalue())
