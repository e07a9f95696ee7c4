"""Shadow runs (issue 20): registered models an admin runs in shadow score every new consultation's photos; the
scores are stored (``model_scores``, source "shadow") for comparisons and never shown to a patient nor used for
triage. Scoring runs on one background thread after the consultation is stored (:func:`score_later`); a shadow
model that fails is logged and skipped: the patient's submission never depends on it.

The app registers how a checkpoint is loaded (:func:`set_predictor_loader`, the process's shared predictors);
without a loader (command lines, tests that do not ask for it) nothing is scored in shadow.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from PIL import Image

from clinic import active_model
from clinic.models import model_path
from db import model_registry as registry
from db.engine import Database
from db.errors import DatabaseError
from db.model_registry import ModelEntry, StoredScore
from scalp_model.errors import ScalpScopeError
from scalp_model.serving.predictor import Predictor

log = logging.getLogger("scalpscope.models")

Loader = Callable[[Path], Predictor]
_loader: Loader | None = None


def set_predictor_loader(loader: Loader | None) -> None:
    """Register the function that gives the predictor of a checkpoint path (None: no shadow scoring)."""
    global _loader
    _loader = loader


def predictor_loader() -> Loader:
    """The registered loader (the app's shared predictors), else one that loads a fresh predictor per call."""
    return _loader if _loader is not None else (lambda path: Predictor.from_path(path))


_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scalpscope-shadow")
_pending: list[Future] = []
_pending_lock = threading.Lock()


def score_later(database: Database, image_ids: Sequence[int], pictures: Sequence[Image.Image]) -> Future | None:
    """:func:`score_in_shadow` on a background thread, so a patient never waits for a shadow model (nor for
    loading one); None when nothing runs in shadow (or no loader is registered)."""
    if _loader is None or not image_ids or not active_model.WATCH.shadow_models(database):
        return None
    future = _pool.submit(score_in_shadow, database, list(image_ids), list(pictures))
    with _pending_lock:
        _pending[:] = [f for f in _pending if not f.done()] + [future]
    return future


def drain(timeout: float | None = None) -> None:
    """Wait until every shadow scoring started so far has finished (tests, orderly shutdown)."""
    with _pending_lock:
        pending = list(_pending)
    wait(pending, timeout=timeout)


def score_in_shadow(database: Database, image_ids: Sequence[int], pictures: Sequence[Image.Image],
                    models: Sequence[ModelEntry] | None = None) -> dict[str, int]:
    """Score the stored photos ``image_ids`` (their decoded ``pictures``, same order) with every model in shadow
    (``models``, default: the registry's, as this process last read it) and store the scores.

    Returns ``{version: scores added}``; a model that cannot be loaded or run is logged and left out. Raises
    ``ValueError`` when ``image_ids`` and ``pictures`` differ in length.
    """
    if len(image_ids) != len(pictures):
        raise ValueError(f"{len(image_ids)} image ids for {len(pictures)} pictures")
    if _loader is None or not image_ids:
        return {}
    if models is None:
        models = active_model.WATCH.shadow_models(database)
    added: dict[str, int] = {}
    for entry in models:
        try:
            predictions = _loader(model_path(entry)).predict_batch(list(pictures))
            scores = [StoredScore(i, p.p_psoriasis, p.out_of_scope, p.ood_score) for i, p in zip(image_ids, predictions)]
            with database.begin() as session:
                added[entry.version] = registry.store_scores(session, entry.id, scores, source="shadow")
        except (ScalpScopeError, DatabaseError, OSError) as exc:
            log.warning("shadow model %s skipped: %s", entry.version, exc)
    return added
