"""Fixtures for the app tests: a temporary SQLite database, the tiny checkpoint and a fast fake predictor.

Pages reach the model and the database only through ``pages._resources.get_predictor`` and
``get_database``; tests point those at temporary resources through the environment or replace
``get_predictor`` with :class:`FakePredictor`.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher
from PIL import Image
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from db.consultations import NewImage, claim, record_review, submit_consultation
from db.engine import Database
from db.models import Consultation
from db.users import create_user
from pages import _resources as res
from scalp_model.serving.checkpoint import ModelMeta
from scalp_model.serving.predictor import Prediction, label_for
from scalp_model.serving.preprocess import sanitized_bytes
from tests.conftest import REPO_ROOT
from tests.db.builders import model_output
from testing.pages import shown_access_code  # noqa: F401 - re-exported for the page tests
from tests.factories import photo_array

APP = REPO_ROOT / "app.py"
PASSWORD = "correct horse battery staple"
CODE_PATTERN = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){6}$")


@pytest.fixture(autouse=True)
def _navigation_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run app.py on every AppTest run, as a server does.

    Streamlit keeps a process-wide flag "this app uses the legacy pages/ directory"; it starts as
    "pages/ exists" and ``st.navigation`` clears it on the first run. AppTest resets the flag before
    every run, so from the second run on it would execute the page without app.py (no sidebar, no
    frame). Clear it right after AppTest's reset, as the server's first run does.
    """
    original = PagesManager.__init__

    def init(self: PagesManager, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's production parameters cost ~0.2 s a hash; the tests only need the mechanism."""
    monkeypatch.setattr("db.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_checkpoint: Path) -> Iterator[Path]:
    """A fresh SQLite file and the tiny checkpoint; no demo account, no secrets."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SCALPSCOPE_WEIGHTS", str(tiny_checkpoint))
    monkeypatch.setenv("SCALPSCOPE_DEVICE", "cpu")
    for name in ("SCALPSCOPE_DEMO", "SCALPSCOPE_CODE_PEPPER", "SCALPSCOPE_SESSION_TIMEOUT_MIN"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    res._open_database.clear()
    res._turnaround.clear()


@pytest.fixture
def database(app_env: Path) -> Database:
    """The very database the app uses in this test (migrated)."""
    return res.get_database()


@dataclass
class FakePredictor:
    """Answers instantly with a fixed probability and a centred map (same interface pages use)."""

    p_psoriasis: float = 0.8
    uncertain: bool = False
    out_of_scope: bool = False
    meta: ModelMeta = ModelMeta(version="fake-1")
    sha256: str = "f" * 64
    calls: int = 0

    @property
    def version(self) -> str:
        return self.meta.version

    def predict(self, image: Image.Image) -> Prediction:
        self.calls += 1
        window = np.hanning(224)
        return Prediction(
            label=label_for(self.p_psoriasis, 0.5), p_psoriasis=self.p_psoriasis,
            threshold=0.5, uncertain=self.uncertain, out_of_scope=self.out_of_scope, ood_score=None,
            temperature=1.0, model_version=self.meta.version, model_sha256=self.sha256,
            cam=np.outer(window, window), timings_ms={"model": 1.0},
        )


@pytest.fixture
def fake_predictor(monkeypatch: pytest.MonkeyPatch) -> FakePredictor:
    fake = FakePredictor()
    monkeypatch.setattr(res, "get_predictor", lambda: fake)
    return fake


@pytest.fixture
def at(app_env: Path) -> AppTest:
    """The whole app, on its home page."""
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    return app


@pytest.fixture
def clinician(database: Database):
    with database.begin() as session:
        return create_user(session, "dr.who", PASSWORD)


def seed_consultation(database: Database, *, p: float = 0.7, uncertain: bool = False, out_of_scope: bool = False,
                      images: int = 1, free_text: str | None = None) -> tuple[str, str]:
    """A stored consultation made through db.consultations; returns (public_id, access code)."""
    picture = Image.fromarray(photo_array(64, 48))
    jpeg, mime = sanitized_bytes(picture)
    overlay = io.BytesIO()
    picture.save(overlay, format="PNG")
    with database.begin() as session:
        consultation, code = submit_consultation(
            session, {"image_source": "phone", "age_band": "18–39", "free_text": free_text}, res.CONSENT_VERSION,
            [NewImage(jpeg, mime, 64, 48, overlay_png=overlay.getvalue())] * images,
            [model_output("seed-1", "0" * 64, p, 0.5, 1.0, label_for(p, 0.5), uncertain, out_of_scope, 3.0)] * images,
        )
        return consultation.public_id, code


def seed_reviewed(database: Database, reviewer, diagnoses: Sequence[str], *,  # noqa: ANN001 - a db Clinician
                  images: Sequence[int] | None = None) -> list[str]:
    """One consultation per diagnosis (``images[i]`` photos each, default 1), claimed and reviewed by
    ``reviewer`` with that diagnosis; returns their public ids in order."""
    public_ids = []
    for index, diagnosis in enumerate(diagnoses):
        public_id, _ = seed_consultation(database, images=images[index] if images else 1)
        with database.begin() as session:
            case_id = session.query(Consultation.id).filter_by(public_id=public_id).scalar()
            claim(session, case_id, reviewer)
            record_review(session, case_id, reviewer, diagnosis, "")
        public_ids.append(public_id)
    return public_ids


def texts(elements: Sequence) -> list[str]:
    return [str(e.value) for e in elements]


def assert_clean(at: AppTest) -> None:
    """No uncaught exception reached the page."""
    assert not at.exception, texts(at.exception)


def sign_in(at: AppTest, username: str = "dr.who", password: str = PASSWORD) -> AppTest:
    at.switch_page("pages/queue.py").run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def queue_picker(at):
    """The queue page's consultation picker (its key changes with the listing: see pages._views.listing_key)."""
    pickers = [box for box in at.selectbox if str(box.key).startswith("q_pick_")]
    assert len(pickers) == 1, [box.key for box in at.selectbox]
    return pickers[0]
