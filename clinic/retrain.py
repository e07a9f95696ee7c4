"""Retraining from the clinic's own reviewed consultations (issue 20, item 4), in the background.

One job: export the consented, non-demo reviewed consultations (``db.export``: psoriasis and seborrheic
dermatitis as the two training labels, every other coded diagnosis under ``other_diagnoses/``, on which the new
model's out-of-scope gate is measured), run ``python -m scalp_model train`` on them as a child process (progress
from its ``epoch k/N`` lines), register the result as a candidate with its card, and delete the exported photos (and, once registered, the
run's folder).
It never activates anything: an admin compares and activates. Audited as ``model.retrain`` (started, with the
export's counts; registered, with the new model's id) and ``export.training``.
"""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from clinic.models import AdminOnlyError, register_checkpoint
from db import audit
from db import settings as db_settings
from db.engine import Database
from db.errors import DatabaseError, ValidationError
from db.export import OTHER_DIAGNOSES, export_training
from db.model_registry import ModelEntry
from db.users import Clinician
from i18n import N_, worded
from scalp_model.errors import ScalpScopeError

log = logging.getLogger("scalpscope.models")

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_PER_LABEL = 5  # photos of each training label below which a retraining is refused
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)")
Command = Callable[[Path, Path, str, int], Sequence[str]]  # (data folder, checkpoint out, version, epochs) -> argv


def training_command(data_dir: Path, out: Path, version: str, epochs: int) -> list[str]:
    """``python -m scalp_model train`` on an export: the paper's recipe, ``epochs`` epochs, the out-of-scope gate
    measured on the other diagnoses' photos, no progress bars (one line per epoch)."""
    argv = [sys.executable, "-m", "scalp_model", "train", str(data_dir), "--out", str(out), "--version", version,
            "--epochs", str(epochs), "--no-progress"]
    others = data_dir / OTHER_DIAGNOSES
    if others.is_dir():
        argv += ["--ood-dir", str(others)]
    return argv


@dataclass
class RetrainJob:
    """A retraining: ``step`` in words, ``epoch``/``epochs`` done, the last lines of the training's output, then
    the registered ``result`` or an ``error`` (a message safe to show, in English; ``failure`` is the error itself,
    which a page shows in its reader's language)."""

    version: str
    step: str = "exporting the reviewed consultations"
    epoch: int = 0
    epochs: int = 0
    output: list[str] = field(default_factory=list)
    result: ModelEntry | None = None
    error: str | None = None
    failure: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def fraction(self) -> float:
        return 1.0 if self.finished.is_set() else (self.epoch / self.epochs if self.epochs else 0.0)


class RetrainJobs:
    """At most one retraining at a time in this process (thread-safe)."""

    def __init__(self) -> None:
        self._job: RetrainJob | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> RetrainJob | None:
        """The running or last finished retraining, or None."""
        return self._job

    def start(self, database: Database, admin: Clinician, *, epochs: int = 30, command: Command = training_command,
              models_dir: Path | None = None, now: datetime | None = None) -> RetrainJob:
        """Start retraining in a background thread and return its job. Raises :class:`AdminOnlyError`,
        ``ValidationError`` when one is running already or ``epochs`` is outside 1..200."""
        if not admin.is_admin:
            raise AdminOnlyError()
        if not 1 <= int(epochs) <= 200:
            raise worded(ValidationError, N_("Epochs must be between 1 and 200 (got {epochs})."), epochs=epochs)
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        with self._lock:
            if self._job is not None and not self._job.finished.is_set():
                raise ValidationError(N_("A retraining is already running; wait for it to finish."))
            job = self._job = RetrainJob(version=f"clinic-retrained-{stamp}", epochs=int(epochs))
        work = (models_dir or db_settings.models_dir()) / "retraining" / stamp
        threading.Thread(target=_run, args=(job, database, admin, work, command, models_dir), daemon=True,
                         name="scalpscope-retrain").start()
        return job


def _run(job: RetrainJob, database: Database, admin: Clinician, work: Path, command: Command,
         models_dir: Path | None) -> None:
    data = work / "data"
    try:
        with database.session() as session:
            summary = export_training(session, data, other_diagnoses=True)
        counts = {label: summary.per_label.get(label, 0) for label in ("psoriasis", "seborrheic_dermatitis")}
        if min(counts.values()) < MIN_PER_LABEL:
            raise worded(ValidationError, N_("Too few reviewed photos to retrain: {psoriasis} of psoriasis and "
                                             "{seborrheic} of seborrheic dermatitis (at least {minimum} of each, "
                                             "consented, not demo)."),
                         psoriasis=counts["psoriasis"], seborrheic=counts["seborrheic_dermatitis"],
                         minimum=MIN_PER_LABEL)
        with database.begin() as session:
            audit.record(session, admin.actor, "export.training", detail=summary.audit_detail())
            audit.record(session, admin.actor, "model.retrain", detail={"version": job.version, "epochs": job.epochs,
                                                                       "per_label": counts})
        job.step = "training"
        out = work / f"{job.version}.pt"
        _train(job, command(data, out, job.version, job.epochs))
        job.step = "registering the new model"
        entry = register_checkpoint(database, out, actor=admin.actor, models_dir=models_dir)
        with database.begin() as session:
            audit.record(session, admin.actor, "model.retrain", detail={"version": entry.version, "model_id": entry.id,
                                                                       "registered": True})
        job.result = entry
    except (ScalpScopeError, DatabaseError, OSError, RuntimeError) as exc:
        log.warning("retraining %s failed: %s", job.version, exc)
        job.error, job.failure = str(exc), exc
    finally:  # the patients' photos never stay on disk after the run; a registered model lies in the models folder
        shutil.rmtree(data, ignore_errors=True)
        if job.result is not None:
            shutil.rmtree(work, ignore_errors=True)
        job.finished.set()


def _train(job: RetrainJob, argv: Sequence[str]) -> None:
    """Run the training command, following its epoch lines; raises ``RuntimeError`` with its last lines on failure."""
    process = subprocess.Popen(list(argv), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        job.output = [*job.output[-19:], line]
        match = EPOCH_LINE.match(line)
        if match:
            job.epoch, job.epochs = int(match.group(1)), int(match.group(2))
    if process.wait() != 0:
        raise worded(RuntimeError, N_("The training command failed: {output}"), output=" / ".join(job.output[-3:]))


JOBS = RetrainJobs()
