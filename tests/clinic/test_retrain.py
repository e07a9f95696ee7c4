"""Retraining from the reviewed consultations (issue 20, item 4): the export, the training command in the background
with its epoch progress, the result registered as a candidate (never activated), the exported photos deleted, audit
rows; too few reviewed photos refused; only admins. The training command is a stand-in here (the real one is
``python -m scalp_model train``, tested in tests/model/training)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clinic import models, retrain
from db import audit
from db.consultations import CONSENT_VERSION, claim, record_review, submit_consultation
from db.engine import Database
from db.users import Clinician, create_user
from testing.models import carded_checkpoint
from tests.db.builders import HISTORY, TEST_PASSWORD, new_image, new_prediction

STAND_IN = """
import shutil, sys
data, out, made = sys.argv[1], sys.argv[2], sys.argv[3]
print("train 10 / val 2 / test 2 images; device cpu")
for epoch in (1, 2):
    print(f"epoch {epoch}/2: train loss 0.1, val AUC 0.5, val NLL 0.7", flush=True)
shutil.copy(made, out)
shutil.copy(made[:-3] + ".md", out[:-3] + ".md")
"""


@pytest.fixture
def admin(database: Database) -> Clinician:
    with database.begin() as session:
        return create_user(session, "root", TEST_PASSWORD, "admin")


def reviewed(database: Database, reviewer: Clinician, diagnoses: list[str]) -> None:
    for diagnosis in diagnoses:
        with database.begin() as s:
            consultation, _ = submit_consultation(s, HISTORY, CONSENT_VERSION, [new_image()], [new_prediction()])
            claim(s, consultation.id, reviewer)
            record_review(s, consultation.id, reviewer, diagnosis, "")


def test_retrained_model_is_registered_as_a_candidate(database: Database, admin: Clinician, clinician: Clinician,
                                                      tmp_path: Path) -> None:
    made = carded_checkpoint(tmp_path / "made", "clinic-retrained-test", seed=13)
    first = models.register_checkpoint(database, carded_checkpoint(tmp_path / "made", "first", seed=14),
                                       actor=admin.actor, models_dir=tmp_path / "models")
    models.activate(database, admin, first.id, "first")
    reviewed(database, clinician, ["psoriasis", "seborrheic_dermatitis"] * 5 + ["tinea_capitis"])
    seen: list[tuple[Path, Path]] = []

    def command(data: Path, out: Path, version: str, epochs: int) -> list[str]:
        seen.append((data, out))
        assert len(list((data / "psoriasis").iterdir())) == 5
        assert (data / "other_diagnoses").is_dir()  # the rest, for the out-of-scope gate
        assert retrain.training_command(data, out, version, epochs)[3:5] == ["train", str(data)]
        return [sys.executable, "-c", STAND_IN, str(data), str(out), str(made)]

    job = retrain.JOBS.start(database, admin, epochs=2, command=command, models_dir=tmp_path / "models")
    assert job.finished.wait(60) and job.error is None, job.error
    assert (job.epoch, job.epochs) == (2, 2)
    assert job.result.version == "clinic-retrained-test" and job.result.state == "candidate"
    assert [m.version for m in models.list_models(database) if m.is_active] == ["first"]  # never activated
    assert not seen[0][0].exists()  # the exported photos are gone
    with database.session() as session:
        events = audit.list_events(session, action="model.retrain")
    assert events[0].detail["per_label"] == {"psoriasis": 5, "seborrheic_dermatitis": 5}
    assert events[1].detail["registered"] is True and events[1].actor == admin.actor


def test_too_few_reviewed_photos_are_refused(database: Database, admin: Clinician, clinician: Clinician,
                                             tmp_path: Path) -> None:
    reviewed(database, clinician, ["psoriasis", "seborrheic_dermatitis"])
    job = retrain.JOBS.start(database, admin, epochs=1, command=lambda *a: pytest.fail("no training expected"),
                             models_dir=tmp_path / "models")
    assert job.finished.wait(60)
    assert "Too few reviewed photos to retrain" in job.error and job.result is None
    assert models.list_models(database) == []
    assert not any((tmp_path / "models" / "retraining").glob("*/data"))


def test_only_an_admin_retrains_and_epochs_are_checked(database: Database, admin: Clinician,
                                                       clinician: Clinician) -> None:
    with pytest.raises(models.AdminOnlyError):
        retrain.JOBS.start(database, clinician)
    with pytest.raises(retrain.ValidationError, match="Epochs must be between 1 and 200"):
        retrain.JOBS.start(database, admin, epochs=0)


@pytest.mark.slow
def test_a_real_training_run_is_registered(database: Database, admin: Clinician, clinician: Clinician,
                                           tmp_path: Path) -> None:
    """``python -m scalp_model train`` itself (one epoch from scratch on 20 generated photos, ~1 min on 2 cores)."""
    from db.consultations import NewImage
    from testing.factories import image_bytes

    for index, diagnosis in enumerate(["psoriasis", "seborrheic_dermatitis"] * 10):
        with database.begin() as s:
            photo = NewImage(image_bytes("JPEG", 96, 72, seed=index), "image/jpeg", 96, 72)
            consultation, _ = submit_consultation(s, HISTORY, CONSENT_VERSION, [photo], [new_prediction()])
            claim(s, consultation.id, clinician)
            record_review(s, consultation.id, clinician, diagnosis, "")

    def command(data: Path, out: Path, version: str, epochs: int) -> list[str]:
        return retrain.training_command(data, out, version, epochs) + ["--init", "scratch", "--ood-generated", "0",
                                                                      "--no-quantize"]

    job = retrain.JOBS.start(database, admin, epochs=1, command=command, models_dir=tmp_path / "models")
    assert job.finished.wait(400) and job.error is None, (job.error, job.output)
    assert job.result.version == job.version and job.result.state == "candidate" and (job.epoch, job.epochs) == (1, 1)
    assert models.model_path(job.result, tmp_path / "models").is_file()
    assert not (tmp_path / "models" / "retraining").exists() or not any((tmp_path / "models" / "retraining").iterdir())
