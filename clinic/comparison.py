"""Comparing two registered models on the clinic's reviewed consultations (issue 20).

Each model's scores of the reviewed consultations' photos are computed once and stored (``model_scores``, the
cache per model; a shadow run fills it as consultations arrive): :func:`rescore` scores only the photos still
missing. A consultation's score is the highest P(psoriasis) of its first-round photos (as the queue and the
clinic's figures), its truth the latest review's diagnosis. :class:`ComparisonJobs` runs re-scoring and the
figures in a background thread per pair, with progress, so the page stays responsive.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clinic import shadow
from clinic.models import model_path
from db import audit
from db import model_comparison as reads
from db import model_registry as registry
from db.engine import Database
from db.errors import DatabaseError, ValidationError
from db.model_registry import ModelEntry, StoredScore
from i18n import N_
from scalp_model.errors import ScalpScopeError
from scalp_model.metrics.comparison import PairedComparison, compare_pair
from scalp_model.serving.predictor import Predictor
from scalp_model.serving.preprocess import decode_image

log = logging.getLogger("scalpscope.models")

Loader = Callable[[Path], Predictor]
Progress = Callable[[int, int], None]  # (photos scored, photos to score)
BATCH = 8  # photos per forward pass


@dataclass(frozen=True)
class ModelComparison:
    """Two models' figures on the same ``cases`` reviewed consultations (``figures``, None when fewer than two
    cases), how many reviewed consultations had another diagnosis (``outside``, not compared) and how many
    could not be scored by both (``unscored``, e.g. an unreadable stored photo)."""

    a: ModelEntry
    b: ModelEntry
    cases: int
    outside: int
    unscored: int
    figures: PairedComparison | None


def rescore(database: Database, entry: ModelEntry, loader: Loader, progress: Progress | None = None, *,
            include_demo: bool = False) -> int:
    """Score with ``entry`` every reviewed consultation's photo it has no stored score for, store them (source
    "rescore") and return how many were added. A photo that cannot be decoded is skipped (logged). Raises
    ``WeightsError`` when the model cannot be loaded."""
    with database.session() as session:
        cases, _ = reads.reviewed_cases(session, include_demo=include_demo)
        wanted = [i for case in cases for i in case.image_ids]
        missing = [i for i in wanted if i not in registry.scored_image_ids(session, entry.id, wanted)]
    total, done, added = len(missing), 0, 0
    if progress is not None:
        progress(0, total)
    if not missing:
        return 0
    predictor = loader(model_path(entry))
    for start in range(0, total, BATCH):
        part = missing[start:start + BATCH]
        with database.session() as session:
            blobs = list(reads.image_bytes(session, part))
        pictures, ids = [], []
        for image_id, data in blobs:
            try:
                pictures.append(decode_image(data).image)
                ids.append(image_id)
            except ScalpScopeError as exc:
                log.warning("photo %s not re-scored: %s", image_id, exc)
        predictions = predictor.predict_batch(pictures)
        with database.begin() as session:
            added += registry.store_scores(session, entry.id, [
                StoredScore(i, p.p_psoriasis, p.out_of_scope, p.ood_score) for i, p in zip(ids, predictions)],
                source="rescore")
        done += len(part)
        if progress is not None:
            progress(done, total)
    return added


def compare(database: Database, a_id: int, b_id: int, *, actor: str, include_demo: bool = False) -> ModelComparison:
    """The figures of models ``a_id`` and ``b_id`` from their stored scores (run :func:`rescore` first), audited
    as ``model.compare``. Raises ``ValidationError`` for the same model twice and ``ModelGoneError``."""
    if a_id == b_id:
        raise ValidationError(N_("Choose two different models to compare."))
    with database.begin() as session:
        a, b = registry.get_model(session, a_id), registry.get_model(session, b_id)
        cases, outside = reads.reviewed_cases(session, include_demo=include_demo)
        ids = [i for case in cases for i in case.image_ids]
        scores_a, scores_b = registry.stored_scores(session, a.id, ids), registry.stored_scores(session, b.id, ids)
        audit.record(session, actor, "model.compare", detail={"model_a": a.id, "model_b": b.id, "cases": len(cases)})
    truth, per_a, per_b = [], [], []
    for case in cases:
        if all(i in scores_a and i in scores_b for i in case.image_ids):
            truth.append(case.truth)
            per_a.append(max(scores_a[i].p_psoriasis for i in case.image_ids))
            per_b.append(max(scores_b[i].p_psoriasis for i in case.image_ids))
    figures = compare_pair(truth, per_a, per_b, a.threshold, b.threshold) if len(truth) >= 2 else None
    return ModelComparison(a=a, b=b, cases=len(truth), outside=outside, unscored=len(cases) - len(truth),
                           figures=figures)


@dataclass
class ComparisonJob:
    """One background comparison: ``step`` (which model is being scored), ``done``/``total`` photos of that step,
    then ``result`` or ``error`` (a message safe to show, in English; ``failure`` is the error itself, which a page
    shows in its reader's language)."""

    a_id: int
    b_id: int
    step: str = "starting"
    done: int = 0
    total: int = 0
    result: ModelComparison | None = None
    error: str | None = None
    failure: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def fraction(self) -> float:
        return 1.0 if self.finished.is_set() else (self.done / self.total if self.total else 0.0)


class ComparisonJobs:
    """At most one background job per pair of models in this process (thread-safe)."""

    def __init__(self) -> None:
        self._jobs: dict[tuple[int, int], ComparisonJob] = {}
        self._lock = threading.Lock()

    def start(self, database: Database, a: ModelEntry, b: ModelEntry, loader: Loader | None = None, *, actor: str,
              include_demo: bool = False) -> ComparisonJob:
        """Start (or return the running) comparison of ``a`` and ``b``; a finished one is started afresh.
        ``loader``: how a checkpoint is loaded (default: the app's, :func:`clinic.shadow.predictor_loader`)."""
        key = (a.id, b.id)
        loader = loader or shadow.predictor_loader()
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.finished.is_set():
                return job
            job = self._jobs[key] = ComparisonJob(a.id, b.id)

        def run() -> None:
            try:
                for entry in (a, b):
                    job.step, job.done, job.total = f"scoring with {entry.version}", 0, 0

                    def progress(done: int, total: int) -> None:
                        job.done, job.total = done, total

                    rescore(database, entry, loader, progress, include_demo=include_demo)
                job.step = "computing the figures"
                job.result = compare(database, a.id, b.id, actor=actor, include_demo=include_demo)
            except (ScalpScopeError, DatabaseError, OSError, ValueError) as exc:
                log.warning("comparison of %s and %s failed: %s", a.version, b.version, exc)
                job.error, job.failure = str(exc), exc
            finally:
                job.finished.set()

        threading.Thread(target=run, name=f"scalpscope-compare-{a.id}-{b.id}", daemon=True).start()
        return job

    def get(self, a_id: int, b_id: int) -> ComparisonJob | None:
        """The latest job of this pair, running or finished, or None."""
        with self._lock:
            return self._jobs.get((a_id, b_id))


JOBS = ComparisonJobs()
