"""Comparing two registered models on the clinic's reviewed consultations (issue 20), on SQLite and PostgreSQL:
the photos are re-scored once per model (a second run scores nothing), and the figures equal ones computed
independently here (scikit-learn's AUC and kappa, a direct O(m·n) DeLong, counts by hand)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from clinic import comparison, models
from db import audit
from db import model_registry as registry
from db.consultations import CONSENT_VERSION, NewImage, claim, record_review, submit_consultation
from db.engine import Database
from scalp_model.serving.predictor import Predictor
from scalp_model.serving.preprocess import decode_image
from testing.factories import image_bytes
from testing.models import carded_checkpoint
from tests.db.builders import HISTORY, new_prediction

DIAGNOSES = ["psoriasis", "seborrheic_dermatitis", "psoriasis", "seborrheic_dermatitis", "psoriasis",
             "seborrheic_dermatitis", "psoriasis", "seborrheic_dermatitis", "tinea_capitis"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("incoming")
    return (carded_checkpoint(folder, "cmp-a", seed=9, temperature=6.0, threshold=0.55),
            carded_checkpoint(folder, "cmp-b", seed=10, temperature=8.0, threshold=0.6))


def reviewed_clinic(database: Database, reviewer) -> list[tuple[str, list[bytes]]]:
    """Nine reviewed consultations (one or two photos each; the last one tinea capitis) and one left open."""
    made = []
    for index, diagnosis in enumerate(DIAGNOSES + [None]):
        photos = [image_bytes("JPEG", 96, 72, seed=10 * index + k) for k in range(1 + index % 2)]
        with database.begin() as s:
            consultation, _ = submit_consultation(
                s, HISTORY, CONSENT_VERSION, [NewImage(p, "image/jpeg", 96, 72) for p in photos],
                [new_prediction()] * len(photos))
            if diagnosis is not None:
                claim(s, consultation.id, reviewer)
                record_review(s, consultation.id, reviewer, diagnosis, "")
                made.append((diagnosis, photos))
    return made


def direct_delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(b - a, two-sided p) of DeLong's paired test from the placement values, written out."""
    def placements(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, neg = s[y == 1], s[y == 0]
        psi = np.array([[1.0 if p > n else 0.5 if p == n else 0.0 for n in neg] for p in pos])
        return psi.mean(axis=1), psi.mean(axis=0)
    (va10, va01), (vb10, vb01) = placements(a), placements(b)
    s10, s01 = np.cov(np.vstack([va10, vb10])), np.cov(np.vstack([va01, vb01]))
    cov = s10 / len(va10) + s01 / len(va01)
    diff = vb10.mean() - va10.mean()
    z = diff / math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    return diff, 2 * norm.sf(abs(z))


def test_comparison_reproduces_independent_figures(database: Database, clinicians, checkpoints,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALPSCOPE_MODELS_DIR", str(tmp_path))
    alice, _, root = clinicians
    made = reviewed_clinic(database, alice)
    a = models.register_checkpoint(database, checkpoints[0], actor=root.actor)
    b = models.register_checkpoint(database, checkpoints[1], actor=root.actor)
    loaded = {}

    def loader(path: Path) -> Predictor:
        return loaded.setdefault(path, Predictor.from_path(path, device="cpu", backend="torch"))

    steps = []
    assert comparison.rescore(database, a, loader, lambda done, total: steps.append((done, total))) == 12
    assert steps[0] == (0, 12) and steps[-1] == (12, 12)  # the 8 cases of the model's classes: 12 photos
    job = comparison.JOBS.start(database, a, b, loader, actor=root.actor)
    assert job.finished.wait(120) and job.error is None, job.error
    assert comparison.rescore(database, a, loader) == 0 == comparison.rescore(database, b, loader)  # cached
    result = job.result
    assert (result.cases, result.outside, result.unscored) == (8, 1, 0)

    truth, per = [], {"a": [], "b": []}
    for diagnosis, photos in made[:8]:
        truth.append(1 if diagnosis == "psoriasis" else 0)
        for key, checkpoint in (("a", checkpoints[0]), ("b", checkpoints[1])):
            predictor = Predictor.from_path(checkpoint, device="cpu", backend="torch")
            per[key].append(max(predictor.predict(decode_image(p).image).p_psoriasis for p in photos))
    y, pa, pb = np.array(truth), np.array(per["a"]), np.array(per["b"])
    figures = result.figures
    assert figures.n == 8 and figures.n_positive == 4
    for model, scores, own, other in ((figures.models[0], pa, 0.55, 0.6), (figures.models[1], pb, 0.6, 0.55)):
        assert model["own"]["auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-4)
        labels = (scores >= own).astype(int)
        assert model["own"]["sensitivity"] == pytest.approx(labels[y == 1].mean(), abs=1e-4)
        assert model["own"]["specificity"] == pytest.approx(1 - labels[y == 0].mean(), abs=1e-4)
        assert model["other"]["threshold"] == other
        assert model["agreed"] == int((labels == y).sum())
        assert model["own"]["brier"] == pytest.approx(np.mean((scores - y) ** 2), abs=1e-4)
        assert model["kappa_with_dermatologists"] == pytest.approx(cohen_kappa_score(y, labels), abs=1e-9)
    difference, p_value = direct_delong(y, pa, pb)
    assert figures.delong["difference"] == pytest.approx(difference, abs=1e-4)
    assert figures.delong["p_value"] == pytest.approx(p_value, abs=1e-3)
    assert figures.between["agreed"] == int(((pa >= 0.55) == (pb >= 0.6)).sum())
    with database.session() as s:
        assert len(registry.stored_scores(s, a.id)) == 12
        assert [e.detail["cases"] for e in audit.list_events(s, action="model.compare")] == [8]


def test_the_same_model_twice_is_refused(database: Database, clinicians) -> None:
    with pytest.raises(comparison.ValidationError, match="two different models"):
        comparison.compare(database, 1, 1, actor="clinician:root")
