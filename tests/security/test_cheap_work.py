"""Kind 8: count and size limits are checked before any photo is decoded, and a client's ``clear_cache``
message (which Streamlit honours for the whole process) no longer drops the model or the database."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.runtime.app_session import AppSession

import clinic.photos
import scalp_model.serving.preprocess
from pages import _resources as res
from tests.app.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    database,
    fake_predictor,
    texts,
)
from tests.factories import image_bytes


@pytest.fixture
def decodes(monkeypatch) -> list[int]:
    """Byte sizes of every photo the app decodes."""
    calls: list[int] = []
    original = scalp_model.serving.preprocess.decode_image

    def counting(data, *args, **kwargs):
        calls.append(len(data))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(scalp_model.serving.preprocess, "decode_image", counting)
    monkeypatch.setattr(clinic.photos, "decode_image", counting)  # the one decode of an upload
    return calls


def upload(at, files) -> None:
    at.switch_page("pages/new_consultation.py").run()
    at.checkbox(key="nc_consent").check()
    at.file_uploader(key="nc_files").set_value(files)
    at.run()
    assert_clean(at)


def test_too_many_photos_are_not_decoded(at, fake_predictor, decodes) -> None:
    upload(at, [(f"scalp{i}.jpg", image_bytes("JPEG", seed=i), "image/jpeg") for i in range(12)])
    assert decodes == []
    assert at.button(key="nc_submit").disabled
    assert "remove 9 photo(s): at most 3" in " ".join(texts(at.caption))
    assert fake_predictor.calls == 0


def test_over_large_photos_are_not_decoded(at, fake_predictor, decodes, monkeypatch) -> None:
    monkeypatch.setenv("SCALPSCOPE_MAX_UPLOAD_MB", "0.05")  # 52 kB
    large = image_bytes("PNG", 400, 300, seed=1)
    assert len(large) > 0.05 * 2**20
    upload(at, [("small.jpg", image_bytes("JPEG", 64, 48, seed=2), "image/jpeg"), ("large.png", large, "image/png")])
    assert decodes == []
    assert "remove 1 photo(s) larger than 0.05 MB" in " ".join(texts(at.caption))
    upload(at, [("small.jpg", image_bytes("JPEG", 64, 48, seed=2), "image/jpeg")])
    assert len(decodes) == 1 and not at.button(key="nc_submit").disabled  # within limits: checked as before


def test_a_client_cannot_drop_the_shared_model_and_database(app_env, tiny_checkpoint) -> None:
    database, predictor = res.get_database(), res.get_predictor()
    turnaround = res.cached_turnaround()
    # Exactly what the server runs for any session's "clear_cache" message.
    AppSession._handle_clear_cache_request(SimpleNamespace(_session_state={}))
    assert res.get_database() is database
    assert res.get_predictor() is predictor
    assert res.cached_turnaround() is turnaround
