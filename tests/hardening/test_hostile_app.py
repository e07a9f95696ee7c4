"""Every hostile upload of ``tests.hostile`` through the New consultation page, as a patient sends it.

Each case goes up beside one good photo, through the page's real path (AppTest of ``app.py``, the real
predictor on the generated checkpoint, a temporary SQLite file). A case the app refuses must get a clear
message, no traceback, and change no row of any table, even when the (disabled) submit button is
clicked anyway by a crafted client: one bad photo means nothing is stored, not even the good one. A
case the app accepts must store the whole consultation, with the photo re-encoded without EXIF, GPS or
trailing payload, and the same probability and map as the model core computes for that file alone.
The module prints: cases, handled, crashed, stored-partially.
"""
from __future__ import annotations

import io
import mimetypes

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import inspect, select, text

from db.models import Consultation, ConsultImage
from pages import _resources as res
from tests.app.conftest import CODE_PATTERN, shown_access_code, texts
from tests.hardening.conftest import report
from tests.factories import image_bytes
from tests.hostile import GPS_MARKER, HostileCase, generate_cases

PAGE = "pages/new_consultation.py"
CASES = generate_cases()
GOOD = ("good.jpg", image_bytes("JPEG", seed=11), "image/jpeg")
FREE_TEXT = "Itches after washing."
OUTCOMES: dict[str, str] = {}  # case name -> handled | crashed | stored-partially

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")]


@pytest.fixture(scope="module", autouse=True)
def _count_outcomes():
    yield
    counts = {k: sum(v == k for v in OUTCOMES.values()) for k in ("handled", "crashed", "stored-partially")}
    report(f"hostile uploads (app): cases={len(OUTCOMES)} handled={counts['handled']} "
           f"crashed={counts['crashed']} stored-partially={counts['stored-partially']}")


def table_counts(database) -> dict[str, int]:
    with database.session() as session:
        names = inspect(session.connection()).get_table_names()
        return {name: session.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in names}


def clear_message(message: str) -> bool:
    return (0 < len(message) < 300 and "Traceback" not in message and message[0].isupper()
            and message.rstrip().endswith((".", "!")))


def metadata_problems(data: bytes, case: HostileCase) -> list[str]:
    """What a stored picture must not carry: EXIF (GPS included), ICC, comments, payloads after the image."""
    problems = []
    stored = Image.open(io.BytesIO(data))
    if stored.format != "JPEG":
        problems.append(f"stored as {stored.format}")
    exif = stored.getexif()
    if len(exif) or exif.get_ifd(0x8825):
        problems.append(f"EXIF kept: {dict(exif)}")
    for key in ("exif", "icc_profile", "comment", "xmp"):
        if key in stored.info:
            problems.append(f"{key} kept")
    for needle in (*case.must_not_contain, GPS_MARKER.encode(), b"Exif\x00\x00"):
        if needle in data:
            problems.append(f"{needle[:20]!r} found in the stored bytes")
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        problems.append("bytes after the end of the JPEG")
    return problems


def drive(at, database, case: HostileCase) -> tuple[str, str]:
    """Upload the case beside a good photo and submit; return (outcome, what went wrong)."""
    before = table_counts(database)
    at.switch_page(PAGE).run()
    at.checkbox(key="nc_consent").check()
    at.text_area(key="nc_text").input(FREE_TEXT)
    mime = mimetypes.guess_type(case.filename)[0] or "application/octet-stream"
    at.file_uploader(key="nc_files").set_value([GOOD, (case.filename, case.data, mime)])
    at.run()
    if at.exception:
        return "crashed", f"on upload: {texts(at.exception)}"
    submit = at.button(key="nc_submit")

    if case.expect == "reject":
        messages = texts(at.error)
        if not messages or not all(clear_message(m) for m in messages):
            return "crashed", f"no clear message: {messages}"
        if not submit.disabled:
            return "crashed", "submit stays enabled"
        submit.proto.disabled = False  # a crafted client clicks the disabled button anyway
        submit.click().run()
        if at.exception:
            return "crashed", f"on forged submit: {texts(at.exception)}"
        if shown_access_code(at) or table_counts(database) != before:
            return "stored-partially", f"rows changed: {before} -> {table_counts(database)}"
        return "handled", ""

    if submit.disabled or at.error:
        return "crashed", f"refused a photo it should accept: {texts(at.error)} {texts(at.caption)}"
    submit.click().run()
    if at.exception or at.error:
        return "crashed", f"on submit: {texts(at.exception) + texts(at.error)}"
    if not CODE_PATTERN.match(shown_access_code(at) or ""):
        return "crashed", "no access code shown"
    after = table_counts(database)
    grown = {name: after[name] - before.get(name, 0) for name in after}
    expected = {"consultations": 1, "consult_images": 2, "predictions": 2, "audit_events": 1}
    if any(grown.get(name) != n for name, n in expected.items()):
        return "stored-partially", f"rows added: {grown}"
    with database.session() as session:
        consultation = session.scalars(select(Consultation).order_by(Consultation.id.desc())).first()
        images = list(session.scalars(select(ConsultImage).where(ConsultImage.consultation_id == consultation.id)
                                      .order_by(ConsultImage.position)))
        if consultation.free_text != FREE_TEXT or any(i.prediction is None for i in images):
            return "stored-partially", "history or a prediction missing"
        hostile = images[1]
        problems = metadata_problems(hostile.data, case)
        alone = res.get_predictor().analyze_bytes(case.data)
        if (hostile.width, hostile.height) != alone.decoded.image.size:
            problems.append(f"stored {hostile.width}x{hostile.height}, upright is {alone.decoded.image.size}")
        if abs(hostile.prediction.p_psoriasis - alone.prediction.p_psoriasis) > 1e-6:
            problems.append(f"p={hostile.prediction.p_psoriasis}, alone {alone.prediction.p_psoriasis}")
        kept, fresh = (np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))
                       for b in (hostile.prediction.overlay_png, alone.overlay_png()))
        if kept.shape != fresh.shape or not np.array_equal(kept, fresh):
            problems.append("stored map differs from the map of the photo computed alone")
    return ("crashed", "; ".join(problems)) if problems else ("handled", "")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_upload_through_the_page(case: HostileCase, at, database) -> None:
    outcome, detail = drive(at, database, case)
    OUTCOMES[case.name] = outcome
    assert outcome == "handled", detail


def test_every_generated_case_is_covered() -> None:
    assert len(CASES) >= 38
    assert {c.expect for c in CASES} == {"accept", "reject"}
