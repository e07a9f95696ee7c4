"""One demo consultation planned in memory: its timeline, images with predictions, history and review.

Labels come from the service's one decision rule (:func:`scalp_model.serving.prediction.label_for`); importing this
module loads ``scalp_model`` (and torch), so ``db.demo`` imports it only while seeding.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from db.codes import new_access_code
from db.consultations import (
    AGE_BANDS,
    CONSENT_VERSION,
    DURATIONS,
    ITCH_LEVELS,
    SCALP_SITE_SEPARATOR,
    SCALP_SITES,
    SEXES,
    compute_triage,
    new_public_id,
)
from db.demo.content import (
    DEMO_MODEL_SHA256,
    DEMO_MODEL_VERSION,
    FREE_TEXTS,
    NOTES,
    THRESHOLD,
    TREATMENTS,
    UNCERTAIN_MARGIN,
)
from db.demo.pictures import PoolImage
from db.models import Diagnosis, Prediction, Status
from scalp_model.serving.prediction import label_for


@dataclass
class Planned:
    consultation: dict[str, Any]
    images: list[tuple[PoolImage, dict[str, Any], dict[str, Any]]]  # picture, image capture, prediction values
    review: dict[str, Any] | None
    code: str
    request: dict[str, Any] | None = None  # the request for more information of a case awaiting the patient


@dataclass(frozen=True)
class Timeline:
    """Where a case stands now: its status and the times of the steps it reached (None: not reached)."""

    status: Status
    created: datetime
    claimed: datetime | None
    reviewed: datetime | None
    closed: datetime | None


def _lognormal_seconds(rng: random.Random, median_s: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median_s), sigma)


def timeline(rng: random.Random, now: datetime, weeks: float) -> Timeline:
    """Submitted over the past ``weeks``; claimed after a log-normal delay (median 6 h) unless in the backlog;
    reviewed 2-40 min later (a few claims never finish); closed after a median of 2 days, or left reviewed."""
    created = now - timedelta(seconds=rng.uniform(60, weeks * 7 * 86400))
    status, claimed, reviewed, closed = Status.SUBMITTED, None, None, None
    backlog = now - created < timedelta(days=21) and rng.random() < 0.08
    if not backlog:
        claimed = created + timedelta(seconds=_lognormal_seconds(rng, 6 * 3600, 1.0))
        if claimed < now:
            status = Status.IN_REVIEW
            if rng.random() >= 0.015:  # a few claims are never finished
                reviewed = claimed + timedelta(seconds=rng.uniform(120, 2400))
                if reviewed < now:
                    status = Status.REVIEWED
                    if rng.random() < 0.65:
                        closed = reviewed + timedelta(seconds=_lognormal_seconds(rng, 2 * 86400, 0.8))
                        if closed < now:
                            status = Status.CLOSED
    return Timeline(status, created,
                    claimed if status != Status.SUBMITTED else None,
                    reviewed if status in (Status.REVIEWED, Status.CLOSED) else None,
                    closed if status == Status.CLOSED else None)


def _images(rng: random.Random, truth: str, source: str, pool: dict[str, tuple[PoolImage, ...]]
            ) -> list[tuple[PoolImage, dict[str, Any], dict[str, Any]]]:
    """1-3 pictures with a capture record and the demo model's prediction values each."""
    base_p = {"psoriasis": rng.betavariate(6, 2), "seborrheic_dermatitis": rng.betavariate(2, 6)}.get(
        truth, rng.betavariate(2, 2)
    )
    images = []
    for _ in range(rng.choices((1, 2, 3), (0.55, 0.30, 0.15))[0]):
        p = min(max(base_p + rng.gauss(0, 0.05), 0.001), 0.999)
        out_of_scope = rng.random() < (0.3 if truth == "other" else 0.015)
        label = label_for(p, THRESHOLD)
        prediction = {
            "model_version": DEMO_MODEL_VERSION,
            "model_sha256": DEMO_MODEL_SHA256,
            "p_psoriasis": round(p, 4),
            "threshold": THRESHOLD,
            "temperature": 1.35,
            "label": label,
            "uncertain": abs(p - THRESHOLD) < UNCERTAIN_MARGIN,
            "out_of_scope": out_of_scope,
            "ood_score": round(rng.uniform(0.7, 1.0) if out_of_scope else rng.uniform(0.0, 0.5), 3),
            "latency_ms": round(rng.uniform(40, 400), 1),
        }
        blurry = rng.random() < 0.1
        capture = {
            "source": "camera" if rng.random() < 0.3 else "upload",
            "format": "JPEG",
            "original_size": [4032, 3024] if source == "phone" else [1920, 1440],
            "frames": 1,
            "exif_orientation": rng.choice((1, 1, 1, 6)),
            "quality": {"ok": not blurry, "issues": ["blurry"] if blurry else [], "advice": []},
            "demo": True,
        }
        picture = rng.choice(pool["psoriasis" if label == "psoriasis" else "seb"])
        images.append((picture, capture, prediction))
    return images


# The four diagnoses the demo has always drawn from (a seed gives the same rows as before issue 19).
DEMO_DIAGNOSES = (Diagnosis.PSORIASIS, Diagnosis.SEBORRHEIC_DERMATITIS, Diagnosis.OTHER, Diagnosis.NEEDS_IN_PERSON_VISIT)
DEMO_OTHER = "demo: a condition other than the listed ones"
DEMO_REQUEST = "Please send a closer photo of the affected area and one of your hairline, in daylight."


def _review(rng: random.Random, truth: str, when: datetime, clinician_id: int | None,
            max_p: float | None) -> dict[str, Any]:
    """The demo clinician's review: mostly the truth, sometimes another answer."""
    if truth == "other":
        diagnosis = rng.choice((Diagnosis.OTHER, Diagnosis.OTHER, Diagnosis.NEEDS_IN_PERSON_VISIT))
    elif rng.random() < 0.9:
        diagnosis = Diagnosis(truth)
    else:
        diagnosis = rng.choice(DEMO_DIAGNOSES)
    model_label = label_for(max_p or 0.0, THRESHOLD)
    return {
        "clinician_id": clinician_id,
        "diagnosis": diagnosis.value,
        "diagnosis_other": DEMO_OTHER if diagnosis == Diagnosis.OTHER else None,
        "notes": rng.choice(NOTES[diagnosis]),
        "agrees_with_ai": None if rng.random() < 0.1 else diagnosis == model_label,
        "created_at": when,
    }


def _asked_for_more(rng: random.Random, t: Timeline, now: datetime, clinician_id: int | None,
                    clinician_ids: list[int]) -> tuple[Timeline, int | None, dict[str, Any] | None]:
    """About 30 % of the waiting cases were claimed and the patient asked for more (issue 19): the case now
    waits for the patient. Drawn from a second stream seeded by ``rng``'s state, so that a seed gives the
    same other rows as before this existed."""
    aside = random.Random(hash(rng.getstate()[1]))
    if t.status != Status.SUBMITTED or aside.random() >= 0.3:
        return t, clinician_id, None
    claimed = t.created + (now - t.created) * aside.uniform(0.2, 0.6)
    asked = claimed + (now - claimed) * aside.uniform(0.05, 0.3)
    who = aside.choice(clinician_ids)
    request = {"round": 1, "requested_by_id": who, "needs": ["closer", "hairline"], "message": DEMO_REQUEST,
               "created_at": asked, "answered_at": None, "answer_text": None}
    return Timeline(Status.AWAITING_PATIENT, t.created, claimed, None, None), who, request


def plan_one(rng: random.Random, now: datetime, weeks: float, clinician_ids: list[int],
             pool: dict[str, tuple[PoolImage, ...]]) -> Planned:
    """One demo consultation's rows (not yet written) and its plain access code."""
    t = timeline(rng, now, weeks)
    truth = rng.choices(("psoriasis", "seborrheic_dermatitis", "other"), (0.45, 0.45, 0.10))[0]
    clinician_id = rng.choice(clinician_ids) if t.claimed else None
    t, clinician_id, request = _asked_for_more(rng, t, now, clinician_id, clinician_ids)
    source = "dermoscope" if rng.random() < 0.2 else "phone"
    images = _images(rng, truth, source, pool)
    itch = rng.choice(ITCH_LEVELS)
    # The stored row type is the queue rule's input too (an Estimate), as at submit.
    triage = compute_triage([Prediction(**values) for _, _, values in images], created_at=t.created, itch=itch)
    review = None if t.reviewed is None else _review(rng, truth, t.reviewed, clinician_id, triage.max_p_psoriasis)
    code = new_access_code()
    sites = rng.sample(SCALP_SITES, rng.choice((1, 1, 2)))
    consultation = {
        "public_id": new_public_id(),
        "status": t.status.value,
        "priority": triage.priority,
        "max_p_psoriasis": triage.max_p_psoriasis,
        "any_uncertain": triage.any_uncertain,
        "any_out_of_scope": triage.any_out_of_scope,
        "created_at": t.created,
        "updated_at": max(x for x in (t.created, t.claimed, t.reviewed, t.closed) if x is not None),
        "claimed_at": t.claimed,
        "reviewed_at": t.reviewed,
        "closed_at": t.closed,
        "claimed_by_id": clinician_id,
        "age_band": rng.choice(AGE_BANDS),
        "sex": rng.choice(SEXES),
        "duration": rng.choice(DURATIONS),
        "itch": itch,
        "previous_treatment": rng.choice(TREATMENTS) if rng.random() < 0.6 else None,
        "scalp_site": SCALP_SITE_SEPARATOR.join(sites),
        "image_source": source,
        "free_text": rng.choice(FREE_TEXTS) if rng.random() < 0.5 else None,
        "consent_version": CONSENT_VERSION,
        "consent_at": t.created,
        "is_demo": True,
    }
    if request is not None:
        consultation["updated_at"] = request["created_at"]  # the queue's "more information asked … ago"
    return Planned(consultation, images, review, code, request)
