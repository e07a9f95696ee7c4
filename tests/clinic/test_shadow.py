"""Shadow runs (issue 20): a model in shadow scores every new consultation's photos; its scores are stored apart
(``model_scores``), the patient's result and view and the queue's triage come from the active model only; a shadow
model that fails never stops a submission; stopping the shadow run stops the scoring."""
from __future__ import annotations

from pathlib import Path

import pytest

from clinic import active_model, models, shadow
from clinic.submit import Upload, submit_consultation
from db import consultations
from db import model_registry as registry
from db.engine import Database
from db.models import Consultation, Prediction
from db.users import Clinician, create_user
from scalp_model.serving.predictor import Predictor
from testing.factories import image_bytes
from testing.models import carded_checkpoint
from tests.db.builders import HISTORY, TEST_PASSWORD


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("incoming")
    return carded_checkpoint(folder, "shadow-a", seed=7), carded_checkpoint(folder, "shadow-b", seed=8, temperature=4.0)


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> dict[str, Predictor]:
    cache: dict[str, Predictor] = {}

    def load(path: Path) -> Predictor:
        if str(path) not in cache:
            cache[str(path)] = Predictor.from_path(path, device="cpu", backend="torch")
        return cache[str(path)]

    monkeypatch.setattr(shadow, "_loader", load)
    active_model.WATCH.forget()
    yield cache
    active_model.WATCH.forget()


@pytest.fixture
def admin(database: Database) -> Clinician:
    with database.begin() as session:
        return create_user(session, "root", TEST_PASSWORD, "admin")


def submit(database: Database, predictor: Predictor):
    submitted = submit_consultation(HISTORY, [Upload(image_bytes(seed=1)), Upload(image_bytes(seed=2))], "v1",
                                    database=database, predictor=predictor)
    shadow.drain(60)  # shadow scoring runs in the background
    return submitted


def test_shadow_scores_are_stored_and_never_shown(database: Database, admin: Clinician, checkpoints, loaded,
                                                  tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCALPSCOPE_MODELS_DIR", str(tmp_path / "models"))
    first = models.register_as(database, admin, checkpoints[0])
    second = models.register_as(database, admin, checkpoints[1])
    models.activate(database, admin, first.id, "first")
    models.set_shadow(database, admin, second.id, True)
    serving = active_model.WATCH.serving(database, checkpoints[0])
    active = Predictor.from_path(serving.path, device="cpu", backend="torch")
    shadow_predictor = Predictor.from_path(checkpoints[1], device="cpu", backend="torch")

    submitted = submit(database, active)
    assert {a.prediction.model_version for a in submitted.analyses} == {"shadow-a"}
    with database.session() as session:
        stored = session.query(Consultation).filter_by(public_id=submitted.public_id).one()
        image_ids = [image.id for image in stored.images]
        assert {p.model_version for p in session.query(Prediction)} == {"shadow-a"}  # triage's only input
        scores = registry.stored_scores(session, second.id)
        view = consultations.lookup_by_code(session, submitted.code)
    assert sorted(scores) == sorted(image_ids)
    expected = [p.p_psoriasis for p in shadow_predictor.predict_batch([a.decoded.image for a in submitted.analyses])]
    assert [scores[i].p_psoriasis for i in image_ids] == pytest.approx(expected, abs=1e-5)
    assert expected != pytest.approx([a.prediction.p_psoriasis for a in submitted.analyses], abs=1e-3)
    assert "shadow-b" not in repr(view) and all(f"{p:.4f}" not in repr(view) for p in expected)

    models.set_shadow(database, admin, second.id, False)
    later = submit(database, active)
    with database.session() as session:
        later_ids = [i.id for i in session.query(Consultation).filter_by(public_id=later.public_id).one().images]
        assert registry.scored_image_ids(session, second.id, later_ids) == set()


def test_a_failing_shadow_model_never_stops_a_submission(database: Database, admin: Clinician, checkpoints,
                                                         loaded, tmp_path: Path) -> None:
    entry = models.register_checkpoint(database, checkpoints[1], actor=admin.actor, models_dir=tmp_path / "m")
    models.set_shadow(database, admin, entry.id, True)  # its file is not where SCALPSCOPE_MODELS_DIR points
    submitted = submit(database, Predictor.from_path(checkpoints[0], device="cpu", backend="torch"))
    assert len(submitted.analyses) == 2
    with database.session() as session:
        assert registry.stored_scores(session, entry.id) == {}
