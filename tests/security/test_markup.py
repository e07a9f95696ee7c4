"""Kind 1: text from patients, file names and study names is shown as plain text, never as Markdown.

Streamlit renders Markdown (and its own directives) in markdown, captions, alerts and st.table cells. Each
payload is put where a patient or an admin can put it, the page is run, and every Markdown body on it must
hold the escaped payload (security.text.plain) and never the raw one. ``test_browser_security.py`` shows
the escaped form renders as the typed characters, with no link, image or request, in a real browser.
"""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from db.consultations import NewImage, submit_consultation
from db.reader_study import create_study
from db.users import create_user
from pages import _resources as res
from security.text import plain
from tests.app.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    database,
    fake_predictor,
    sign_in,
)
from tests.db.builders import model_output
from tests.factories import image_bytes, photo_array
from tests.reader.builders import new_cases
from tests.security.payloads import ACTIVE, PAYLOADS


def markdown_bodies(at) -> list[str]:
    """Every text on the page that Streamlit renders as Markdown."""
    bodies = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "toast", "title", "header",
                 "subheader"):
        bodies += [str(element.value) for element in getattr(at, kind)]
    for table in at.table:
        frame = table.value
        bodies += [str(v) for v in frame.to_numpy().ravel()] + [str(v) for v in frame.index]
    return bodies


def active_tokens(markdown: str) -> list[str]:
    """The payloads' Markdown constructs left in ``markdown`` once backslash-escaped characters are removed."""
    unescaped_part = re.sub(r"\\.", "\0", markdown)
    return [token for token in ACTIVE if token in unescaped_part]


def assert_shown_plain(at, payload: str) -> None:
    bodies = markdown_bodies(at)
    assert any(plain(payload) in body for body in bodies), f"payload not on the page: {payload!r}"
    for body in bodies:
        left = set(active_tokens(body)) & set(active_tokens(payload))
        assert not left, f"payload rendered as Markdown ({sorted(left)}): {body!r}"


def submit_with_history(database, **history) -> str:
    picture = Image.fromarray(photo_array(64, 48))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG")
    with database.begin() as session:
        consultation, _ = submit_consultation(
            session, {"image_source": "phone", **history}, res.CONSENT_VERSION,
            [NewImage(buffer.getvalue(), "image/jpeg", 64, 48)],
            [model_output("seed-1", "0" * 64, 0.7, 0.5, 1.0, "psoriasis", False, False, 3.0)],
        )
        return consultation.public_id


def test_plain_escapes_every_active_construct() -> None:
    for payload in PAYLOADS:
        assert active_tokens(payload)
        assert not active_tokens(plain(payload)), (payload, plain(payload))
    assert plain("SCALPSCOPE_WEIGHTS is missing.") == "SCALPSCOPE_WEIGHTS is missing."  # prose stays as it is
    assert plain("line one\n# two") == "line one \\# two"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_review_history_shows_patient_text_plain(at, database, payload) -> None:
    with database.begin() as session:
        create_user(session, "dr.who", PASSWORD)
    public_id = submit_with_history(database, previous_treatment=payload, free_text=payload)
    sign_in(at)
    at.session_state["review_public_id"] = public_id
    at.switch_page("pages/review.py").run()
    assert_clean(at)
    assert_shown_plain(at, payload)


@pytest.mark.parametrize("payload", PAYLOADS[:3])
def test_new_consultation_shows_file_names_plain(at, fake_predictor, payload) -> None:
    at.switch_page("pages/new_consultation.py").run()
    at.file_uploader(key="nc_files").set_value([
        (payload + ".png", image_bytes("PNG", seed=1), "image/png"),
        (payload + ".jpg", b"not a picture at all", "image/jpeg"),
    ])
    at.run()
    assert_clean(at)
    assert_shown_plain(at, payload + ".png")
    assert_shown_plain(at, payload + ".jpg")


@pytest.mark.parametrize("payload", PAYLOADS[:3])
def test_study_names_are_plain_for_readers_and_admins(at, database, fake_predictor, payload) -> None:
    with database.begin() as session:
        root = create_user(session, "root", PASSWORD, "admin")
        create_study(session, root, payload, new_cases(["psoriasis", "seborrheic_dermatitis"]), [root.id],
                     source="folder", model_version="fake-1", model_sha256="f" * 64, threshold=0.5, seed=1)
    sign_in(at, "root")
    at.switch_page("pages/reader_study.py").run()
    assert_clean(at)
    assert_shown_plain(at, payload)

    at.switch_page("pages/reader_admin.py").run()  # the same name again: refused, quoting the name
    at.text_input(key="ra_name").input(payload)
    at.multiselect(key="ra_readers").select(root.id)
    at.button(key="ra_create").click().run()
    assert_clean(at)
    assert_shown_plain(at, payload)
