"""Switching models without a restart (issue 20), on SQLite and PostgreSQL: two app processes serve the active
model, an activation by an admin reaches both within ``SCALPSCOPE_MODEL_POLL_S`` (plus loading the checkpoint),
their predictions carry the new version, and rolling back is activating the earlier model again."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from clinic import models
from db.engine import Database
from testing.models import carded_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_S = 1.0
SEEN_WITHIN_S = POLL_S + 2.0  # the poll, the probe's 0.1 s loop and a busy 2-core machine
SERVED_WITHIN_S = 60.0  # plus building the new checkpoint's network and one prediction


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("incoming")
    return carded_checkpoint(folder, "switch-a", seed=3), carded_checkpoint(folder, "switch-b", seed=4)


def start_probe(database: Database, models_dir: Path, fallback: Path, expect: str) -> tuple[subprocess.Popen, queue.Queue]:
    env = {**os.environ, "DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
           "SCALPSCOPE_MODELS_DIR": str(models_dir), "SCALPSCOPE_MODEL_POLL_S": str(POLL_S),
           "SCALPSCOPE_WEIGHTS": str(fallback), "SCALPSCOPE_BACKEND": "torch", "SCALPSCOPE_DEVICE": "cpu",
           "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "testing.model_switch_probe", "--expect", expect,
                                "--timeout", "240"], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(line)) for line in process.stdout], daemon=True).start()
    return process, lines


def wait_for(lines: queue.Queue, version: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        report = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if report["predicted"] == version:
            return report


def test_two_app_processes_switch_and_roll_back(database: Database, clinicians, checkpoints, tmp_path: Path) -> None:
    root = clinicians[2]
    models_dir = tmp_path / "models"
    first = models.register_checkpoint(database, checkpoints[0], actor=root.actor, models_dir=models_dir)
    second = models.register_checkpoint(database, checkpoints[1], actor=root.actor, models_dir=models_dir)
    models.activate(database, root, first.id, "first model")
    probes = [start_probe(database, models_dir, checkpoints[1], "switch-a,switch-b,switch-a") for _ in range(2)]
    try:
        for _, lines in probes:  # both serve the active model (not the SCALPSCOPE_WEIGHTS fallback, switch-b)
            assert wait_for(lines, "switch-a", 180)["active"] == "switch-a"
        for target, reason in ((second, "better on our reviewed cases"), (first, "roll back: too many flags")):
            asked = time.time()
            models.activate(database, root, target.id, reason)
            for _, lines in probes:
                report = wait_for(lines, target.version, SERVED_WITHIN_S)
                assert report["active"] == target.version
                assert report["seen_at"] - asked < SEEN_WITHIN_S, report
                assert report["served_at"] - asked < SERVED_WITHIN_S, report
        for process, _ in probes:
            assert process.wait(timeout=30) == 0, process.stderr.read()
    finally:
        for process, _ in probes:
            if process.poll() is None:
                process.kill()


def test_predictions_carry_the_active_version_and_keep_it(database: Database, clinicians, checkpoints,
                                                          tmp_path: Path) -> None:
    from sqlalchemy import select

    from clinic.active_model import ActiveModelWatch
    from clinic.submit import Upload, submit_consultation
    from db.models import Consultation, ConsultImage, Prediction
    from scalp_model.serving.predictor import Predictor
    from testing.factories import image_bytes
    from tests.db.builders import HISTORY

    root = clinicians[2]
    models_dir = tmp_path / "models"
    first = models.register_checkpoint(database, checkpoints[0], actor=root.actor, models_dir=models_dir)
    second = models.register_checkpoint(database, checkpoints[1], actor=root.actor, models_dir=models_dir)
    watch = ActiveModelWatch(ttl_s=lambda: 0.0)

    def submit_with_serving_model() -> str:
        serving = watch.serving(database, checkpoints[1], models_dir)
        predictor = Predictor.from_path(serving.path, device="cpu", backend="torch")
        return submit_consultation(HISTORY, [Upload(image_bytes(seed=1))], "v1", database=database,
                                   predictor=predictor).public_id

    assert watch.serving(database, checkpoints[1], models_dir).entry is None  # none active: SCALPSCOPE_WEIGHTS
    models.activate(database, root, first.id, "first")
    made_by_first = submit_with_serving_model()
    models.activate(database, root, second.id, "second")
    made_by_second = submit_with_serving_model()
    models.activate(database, root, first.id, "roll back")
    assert watch.serving(database, checkpoints[1], models_dir).entry.version == "switch-a"
    with database.session() as session:
        stored = dict(session.execute(
            select(Consultation.public_id, Prediction.model_version).join(ConsultImage, ConsultImage.consultation_id
                                                                          == Consultation.id)
            .join(Prediction, Prediction.image_id == ConsultImage.id)).all())
        shas = set(session.scalars(select(Prediction.model_sha256)))
    assert stored == {made_by_first: "switch-a", made_by_second: "switch-b"}  # each keeps the version it was made with
    assert shas == {first.sha256, second.sha256}


def test_the_watch_rereads_after_its_poll_and_keeps_its_answer_when_the_database_fails(
        database: Database, clinicians, checkpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clinic import active_model as watch_module
    from db.errors import DatabaseUnavailableError

    root = clinicians[2]
    first = models.register_checkpoint(database, checkpoints[0], actor=root.actor, models_dir=tmp_path)
    second = models.register_checkpoint(database, checkpoints[1], actor=root.actor, models_dir=tmp_path)
    models.activate(database, root, first.id, "first")
    now = [100.0]
    watch = watch_module.ActiveModelWatch(ttl_s=lambda: 3.0, clock=lambda: now[0])
    assert watch.serving(database, Path("fallback.pt"), tmp_path).path == tmp_path / first.file_name
    models.activate(database, root, second.id, "second")
    now[0] += 2.9
    assert watch.serving(database, Path("fallback.pt"), tmp_path).entry.version == "switch-a"  # within the poll
    now[0] += 0.2
    assert watch.serving(database, Path("fallback.pt"), tmp_path).entry.version == "switch-b"
    models.activate(database, root, first.id, "roll back")
    now[0] += 5

    def down(*args, **kwargs):
        raise DatabaseUnavailableError()

    monkeypatch.setattr(watch_module.registry, "active_model", down)
    assert watch.serving(database, Path("fallback.pt"), tmp_path).entry.version == "switch-b"  # the last answer kept
