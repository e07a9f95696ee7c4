"""Photos of the kinds phones, cameras and proxies really send, through the New consultation page:
colour profiles (issue 16, item 1) and JPEGs without their end marker or really cut short (item 2)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from sqlalchemy import select

from db.models import ConsultImage, Consultation
from tests import colour_profiles
from tests.app.conftest import assert_clean, shown_access_code, texts
from tests.app.test_new_consultation import add_photos, count, open_page, submit
from tests.factories import image_bytes

RED_P3, SKIN_P3 = (230, 40, 45), (200, 120, 100)


def p3_jpeg() -> bytes:
    """Left half a red, right half a skin tone, stored as Display-P3 numbers with the P3 profile embedded."""
    img = Image.new("RGB", (320, 240), RED_P3)
    img.paste(SKIN_P3, (160, 0, 320, 240))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, subsampling=0, icc_profile=colour_profiles.rgb_profile())
    return buf.getvalue()


def test_colour_profile_is_converted_for_the_model_and_the_stored_copy(at, fake_predictor, database):
    seen = []
    original = fake_predictor.predict

    def predict(image):
        seen.append(np.asarray(image)[120, 40].astype(int))
        return original(image)

    fake_predictor.predict = predict
    open_page(at)
    add_photos(at, ("p3.jpg", p3_jpeg(), "image/jpeg"))
    submit(at)
    assert_clean(at)
    assert shown_access_code(at)
    want_red = np.array(colour_profiles.rgb_to_srgb(RED_P3))  # (251, 0, 28), not (230, 40, 45)
    assert np.abs(seen[0] - want_red).max() <= 4
    with database.begin() as session:
        image = session.scalar(select(ConsultImage))
        assert image.capture["colour_conversion"] == "converted to sRGB"
        assert image.capture["colour_profile"] == "Display P3 (generated)"
        stored = Image.open(io.BytesIO(image.data))
        assert "icc_profile" not in stored.info  # the stored copy is plain sRGB
        assert np.abs(np.asarray(stored.convert("RGB"))[120, 40].astype(int) - want_red).max() <= 4


def test_jpeg_without_end_marker_can_be_submitted(at, fake_predictor, database):
    data = image_bytes("JPEG", width=640, height=480)
    open_page(at)
    add_photos(at, ("no-eoi.jpg", data[:-2], "image/jpeg"))
    assert_clean(at)
    assert not at.error
    submit(at)
    assert shown_access_code(at)
    with database.begin() as session:
        image = session.scalar(select(ConsultImage))
        assert image.capture["repairs"] == ["missing JPEG end-of-image marker"]


def test_jpeg_really_cut_short_is_explained_without_inviting_a_retry(at, fake_predictor, database):
    data = image_bytes("JPEG", width=640, height=480)
    open_page(at)
    add_photos(at, ("cut.jpg", data[: len(data) // 2], "image/jpeg"))
    assert_clean(at)
    errors = " ".join(texts(at.error))
    assert "ends early" in errors and "% of the picture" in errors and "again will not help" in errors
    assert at.button(key="nc_submit").disabled
    assert count(database, Consultation) == 0
