"""Synthetic demo consultations for demos, load tests and benchmarks: ``python -m db seed-demo N``.

Every row written here is marked ``is_demo=True`` (consultations and the demo clinicians who review
them), so ``export-training`` leaves it out unless asked and it can be told apart from real data.

What a demo consultation looks like:

* created over the past ``weeks`` (default 6), uniformly; then claimed after a log-normal delay
  (median 6 h), reviewed 2-40 min after the claim, and closed after another delay (median 2 days) or
  left ``reviewed``; the status is wherever that timeline stands *now*. A backlog share is never
  claimed and a few claims are never finished, so the open queue holds about 6 % of the rows.
* 1-3 images of 96x72 px (JPEG, ~1-2 KB) drawn from a small pool of generated "scalp" pictures,
  each with a model prediction (``model_version="demo-synthetic"``) and a 96x72 overlay PNG;
  the queue priority is :func:`db.consultations.compute_triage` of those predictions, as at submit.
* a patient history drawn from the same answers the app's form offers; reviews by demo clinicians
  ``demo-derm-1..3`` (accounts that cannot sign in: their password hash is not a valid hash).

Speed: rows go in with bulk (executemany) INSERTs in chunks of 1,000 consultations, one short transaction
per chunk, with primary keys reserved up front (:func:`reserve_ids`); access codes are random 140-bit codes under HMAC-SHA256 (no slow hashing).
``seed`` fixes the content (statuses, histories, probabilities, times); public ids and access codes
always come from ``secrets``, so seeding the same database twice never collides.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from db import audit
from db.codes import ALPHABET, CODE_SYMBOLS, GROUP, code_pepper
from db.consultations import (
    AGE_BANDS,
    DURATIONS,
    ITCH_LEVELS,
    SCALP_SITES,
    SEXES,
    NewPrediction,
    compute_triage,
    new_public_id,
)
from db.engine import Database
from db.errors import ValidationError
from db.models import Base, Consultation, ConsultImage, Diagnosis, Prediction, Review, Status, User, utcnow

CHUNK = 1000
MAX_CONSULTATIONS = 10_000_000
DEMO_CLINICIANS = ("demo-derm-1", "demo-derm-2", "demo-derm-3")
UNUSABLE_PASSWORD_HASH = "!demo-account-cannot-sign-in"  # not an argon2 hash: verification always fails
DEMO_MODEL_VERSION = "demo-synthetic"
DEMO_MODEL_SHA256 = hashlib.sha256(b"scalpscope demo model: not a real model").hexdigest()
CONSENT_VERSION = "2026-11"
IMAGE_SIZE = (96, 72)  # width, height: a phone photo's 4:3, small enough for 100,000 rows
POOL_PER_LABEL = 16
THRESHOLD = 0.5
UNCERTAIN_MARGIN = 0.1

# The answers offered by pages/new_consultation.py, so demo rows look like real ones in the review page.
ITCH, SITES = ITCH_LEVELS, SCALP_SITES  # the answers the New consultation page offers
TREATMENTS = (
    "ketoconazole shampoo",
    "coal tar shampoo",
    "salicylic acid shampoo",
    "clobetasol scalp lotion",
    "zinc pyrithione shampoo",
    "olive oil",
    "betamethasone scalp application",
)
FREE_TEXTS = (
    "It flakes a lot, especially in winter.",
    "Itchy at night, my pillow is covered in flakes.",
    "It started after a stressful month at work.",
    "My father has psoriasis on his elbows.",
    "The shampoo helped for a week, then it came back.",
    "Thick patches near the hairline that sometimes bleed when I scratch.",
    "Greasy yellowish scales behind the ears.",
    "I also have some red patches on my eyebrows.",
)
NOTES = {
    Diagnosis.PSORIASIS: (
        (
            "These are well-defined plaques with silvery scale, typical of scalp psoriasis. Use the prescribed "
            "lotion once a day for four weeks and book a follow-up if it does not settle."
        ),
        "This looks like scalp psoriasis. A coal tar shampoo twice a week and a steroid lotion should help.",
    ),
    Diagnosis.SEBORRHEIC_DERMATITIS: (
        (
            "The greasy, yellowish scale points to seborrheic dermatitis. Use a ketoconazole shampoo twice a "
            "week for a month, then once a week to keep it away."
        ),
        "This is seborrheic dermatitis (a common, harmless condition). An antifungal shampoo usually helps.",
    ),
    Diagnosis.OTHER: ("The photos do not show psoriasis or seborrheic dermatitis; please see your GP.",),
    Diagnosis.NEEDS_IN_PERSON_VISIT: ("I would like to see this in person; please book a clinic appointment.",),
}


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed_demo` wrote; ``sample_codes`` are (access code, public id, status) to try out."""

    consultations: int
    images: int
    reviews: int
    per_status: dict[str, int]
    seconds: float
    sample_codes: list[tuple[str, str, str]] = field(default_factory=list)


# --- pictures ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolImage:
    jpeg: bytes
    sha256: str
    overlay_png: bytes
    width: int
    height: int


def _jet(x: np.ndarray) -> np.ndarray:
    """A JET-like colour map for values in [0, 1], as float RGB in [0, 1]."""
    return np.clip(np.stack([1.5 - np.abs(4 * x - 3), 1.5 - np.abs(4 * x - 2), 1.5 - np.abs(4 * x - 1)], -1), 0, 1)


def _picture(rng: np.random.Generator, label: str) -> PoolImage:
    """A smooth skin-toned picture with a psoriasis-like (red, silvery) or seborrheic-like (yellow) patch."""
    w, h = IMAGE_SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    skin = np.array([224, 180, 150], np.float32) * rng.uniform(0.75, 1.05)
    img = np.broadcast_to(skin, (h, w, 3)).copy()
    img *= (0.9 + 0.1 * np.sin(xx / rng.uniform(6, 14) + rng.uniform(0, 6)))[..., None]  # hair parting / shading
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h
    rx, ry = rng.uniform(0.12, 0.3) * w, rng.uniform(0.12, 0.3) * h
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    if label == "psoriasis":
        patch = (d < 1).astype(np.float32)  # sharp edge
        colour = np.array([190, 70, 70], np.float32)
        scale = (np.sin(xx * 1.3) * np.sin(yy * 1.1) > 0.6) & (d < 0.8)
        img = img * (1 - patch[..., None]) + colour * patch[..., None]
        img[scale] = [225, 225, 230]
    else:
        patch = np.exp(-d * 1.5)  # diffuse
        colour = np.array([215, 185, 110], np.float32)
        img = img * (1 - 0.8 * patch[..., None]) + colour * 0.8 * patch[..., None]
    smooth = np.clip(img, 0, 255)
    img = np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)  # a little sensor noise
    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format="JPEG", quality=85, optimize=True)
    jpeg = buffer.getvalue()
    # The overlay is blended over the noise-free picture (noise would make the PNG ~10 KB).
    heat = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.6 * max(rx, ry)) ** 2))
    blended = 0.55 * smooth / 255 + 0.45 * _jet(heat)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(blended, 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG", optimize=True)
    return PoolImage(jpeg, hashlib.sha256(jpeg).hexdigest(), buffer.getvalue(), w, h)


@cache
def picture_pool(seed: int = 0) -> dict[str, tuple[PoolImage, ...]]:
    """A few generated pictures per look, shared by all rows (each row still stores its own copy)."""
    rng = np.random.default_rng(seed)
    return {label: tuple(_picture(rng, label) for _ in range(POOL_PER_LABEL)) for label in ("psoriasis", "seb")}


# --- codes -----------------------------------------------------------------------------------------
def random_code() -> str:
    """A grouped access code like :func:`db.codes.new_access_code`, from one 18-byte draw (140 of 144 bits)."""
    value = int.from_bytes(secrets.token_bytes(18), "big") >> 4
    symbols = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(CODE_SYMBOLS))
    return "-".join(symbols[i : i + GROUP] for i in range(0, CODE_SYMBOLS, GROUP))


# --- rows --------------------------------------------------------------------------------------------
@dataclass
class _Planned:
    consultation: dict[str, Any]
    images: list[tuple[PoolImage, dict[str, Any], dict[str, Any]]]  # picture, image capture, prediction values
    review: dict[str, Any] | None
    code: str


def _lognormal_seconds(rng: random.Random, median_s: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median_s), sigma)


def _plan_one(
    rng: random.Random, now: datetime, weeks: float, clinician_ids: list[int], pool: dict[str, tuple[PoolImage, ...]]
) -> _Planned:
    created = now - timedelta(seconds=rng.uniform(60, weeks * 7 * 86400))
    age = now - created
    truth = rng.choices(("psoriasis", "seborrheic_dermatitis", "other"), (0.45, 0.45, 0.10))[0]

    # Timeline: where does it stand now?
    status, claimed, reviewed, closed = Status.SUBMITTED, None, None, None
    backlog = age < timedelta(days=21) and rng.random() < 0.08
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
    claimed = claimed if status != Status.SUBMITTED else None
    reviewed = reviewed if status in (Status.REVIEWED, Status.CLOSED) else None
    closed = closed if status == Status.CLOSED else None
    clinician_id = rng.choice(clinician_ids) if claimed else None

    # Images and predictions.
    base_p = {"psoriasis": rng.betavariate(6, 2), "seborrheic_dermatitis": rng.betavariate(2, 6)}.get(
        truth, rng.betavariate(2, 2)
    )
    source = "dermoscope" if rng.random() < 0.2 else "phone"
    images, predictions = [], []
    for _ in range(rng.choices((1, 2, 3), (0.55, 0.30, 0.15))[0]):
        p = min(max(base_p + rng.gauss(0, 0.05), 0.001), 0.999)
        out_of_scope = rng.random() < (0.3 if truth == "other" else 0.015)
        prediction = {
            "model_version": DEMO_MODEL_VERSION,
            "model_sha256": DEMO_MODEL_SHA256,
            "p_psoriasis": round(p, 4),
            "threshold": THRESHOLD,
            "temperature": 1.35,
            "label": "psoriasis" if p >= THRESHOLD else "seborrheic_dermatitis",
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
        picture = rng.choice(pool["psoriasis" if p >= THRESHOLD else "seb"])
        images.append((picture, capture, prediction))
        predictions.append(NewPrediction(**prediction))
    itch = rng.choice(ITCH)
    triage = compute_triage(predictions, created_at=created, itch=itch)

    review = None
    if reviewed is not None:
        if truth == "other":
            diagnosis = rng.choice((Diagnosis.OTHER, Diagnosis.OTHER, Diagnosis.NEEDS_IN_PERSON_VISIT))
        elif rng.random() < 0.9:
            diagnosis = Diagnosis(truth)
        else:
            diagnosis = rng.choice(list(Diagnosis))
        model_label = "psoriasis" if (triage.max_p_psoriasis or 0) >= THRESHOLD else "seborrheic_dermatitis"
        review = {
            "clinician_id": clinician_id,
            "diagnosis": diagnosis.value,
            "notes": rng.choice(NOTES[diagnosis]),
            "agrees_with_ai": None if rng.random() < 0.1 else diagnosis == model_label,
            "created_at": reviewed,
        }

    code = random_code()
    sites = rng.sample(SITES, rng.choice((1, 1, 2)))
    consultation = {
        "public_id": new_public_id(),
        "status": status.value,
        "priority": triage.priority,
        "max_p_psoriasis": triage.max_p_psoriasis,
        "any_uncertain": triage.any_uncertain,
        "any_out_of_scope": triage.any_out_of_scope,
        "created_at": created,
        "updated_at": max(t for t in (created, claimed, reviewed, closed) if t is not None),
        "claimed_at": claimed,
        "reviewed_at": reviewed,
        "closed_at": closed,
        "claimed_by_id": clinician_id,
        "age_band": rng.choice(AGE_BANDS),
        "sex": rng.choice(SEXES),
        "duration": rng.choice(DURATIONS),
        "itch": itch,
        "previous_treatment": rng.choice(TREATMENTS) if rng.random() < 0.6 else None,
        "scalp_site": ", ".join(sites),
        "image_source": source,
        "free_text": rng.choice(FREE_TEXTS) if rng.random() < 0.5 else None,
        "consent_version": CONSENT_VERSION,
        "consent_at": created,
        "is_demo": True,
    }
    return _Planned(consultation, images, review, code)


def reserve_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """``count`` new primary keys for ``model``, safe beside concurrent writers.

    PostgreSQL: drawn from the table's own sequence (so later ordinary inserts never collide).
    SQLite: after the current maximum; :meth:`Database.begin` holds SQLite's write lock for the whole
    unit of work, so nobody else can insert in between.
    """
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
        return list(session.scalars(query, {"table": table.name, "n": count}))
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(start + 1, start + 1 + count))


def ensure_demo_clinicians(database: Database) -> list[int]:
    """The demo reviewers' user ids, creating the accounts (which cannot sign in) when missing."""
    with database.begin() as session:
        query = select(User.username, User.id).where(User.username.in_(DEMO_CLINICIANS))
        existing: dict[str, int] = {name: id_ for name, id_ in session.execute(query)}
        for username in DEMO_CLINICIANS:
            if username not in existing:
                user = User(
                    username=username,
                    role="dermatologist",
                    password_hash=UNUSABLE_PASSWORD_HASH,
                    failed_logins=0,
                    is_demo=True,
                    created_at=utcnow(),
                )
                session.add(user)
                session.flush()
                audit.record(session, audit.SYSTEM, "user.create", detail={"username": username, "role": user.role})
                existing[username] = user.id
    return [existing[u] for u in DEMO_CLINICIANS]


def seed_demo(
    database: Database,
    n: int,
    *,
    seed: int | None = None,
    weeks: float = 6.0,
    now: datetime | None = None,
    keep_codes: int = 4,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> SeedSummary:
    """Add ``n`` demo consultations to a migrated database (see the module docstring); return a summary.

    ``keep_codes``: how many plain access codes to hand back (one per status first, then random ones).
    """
    if not 1 <= n <= MAX_CONSULTATIONS:
        raise ValidationError(f"Seed between 1 and {MAX_CONSULTATIONS:,} consultations, not {n}.")
    if weeks <= 0:
        raise ValidationError("weeks must be positive.")
    started = time.perf_counter()
    rng = random.Random(seed)
    sampler = random.Random(seed)  # picks the sample codes without disturbing the content's sequence
    now = now or utcnow()
    pool = picture_pool(0 if seed is None else seed)
    clinician_ids = ensure_demo_clinicians(database)
    with database.begin() as session:
        pepper = code_pepper(session)
    per_status: Counter[str] = Counter()
    images_written = reviews_written = 0
    by_status: dict[str, tuple[str, str, str]] = {}
    reservoir: list[tuple[str, str, str]] = []
    seen = 0
    for offset in range(0, n, chunk):
        planned = [_plan_one(rng, now, weeks, clinician_ids, pool) for _ in range(min(chunk, n - offset))]
        rows = []
        for plan in planned:
            canonical = plan.code.replace("-", "")
            digest = hmac.new(pepper, canonical.encode(), "sha256").hexdigest()  # as db.codes.hash_code
            rows.append({**plan.consultation, "access_code_hash": digest})
        with database.begin() as session:
            consultation_ids = reserve_ids(session, Consultation, len(rows))
            for row, consultation_id in zip(rows, consultation_ids, strict=True):
                row["id"] = consultation_id
            # Core INSERTs (executemany): the ORM's bulk path drops None values and so splits the rows into
            # many small statements by their key sets.
            session.execute(insert(Consultation.__table__), rows)
            image_rows, prediction_rows, review_rows = [], [], []
            for plan, consultation_id in zip(planned, consultation_ids, strict=True):
                for position, (picture, capture, prediction) in enumerate(plan.images):
                    image_rows.append(
                        {
                            "consultation_id": consultation_id,
                            "position": position,
                            "data": picture.jpeg,
                            "sha256": picture.sha256,
                            "size_bytes": len(picture.jpeg),
                            "mime": "image/jpeg",
                            "width": picture.width,
                            "height": picture.height,
                            "capture": capture,
                        }
                    )
                    prediction_rows.append(
                        {
                            **prediction,
                            "overlay_png": picture.overlay_png,
                            "created_at": plan.consultation["created_at"],
                        }
                    )
                if plan.review is not None:
                    review_rows.append({"consultation_id": consultation_id, **plan.review})
            image_ids = reserve_ids(session, ConsultImage, len(image_rows))
            for image_row, prediction_row, image_id in zip(image_rows, prediction_rows, image_ids, strict=True):
                image_row["id"] = prediction_row["image_id"] = image_id
            session.execute(insert(ConsultImage.__table__), image_rows)
            session.execute(insert(Prediction.__table__), prediction_rows)
            if review_rows:
                session.execute(insert(Review.__table__), review_rows)
        images_written += len(image_rows)
        reviews_written += len(review_rows)
        for plan in planned:
            status = plan.consultation["status"]
            per_status[status] += 1
            sample = (plan.code, plan.consultation["public_id"], status)
            by_status.setdefault(status, sample)
            seen += 1
            if len(reservoir) < keep_codes:
                reservoir.append(sample)
            elif (j := sampler.randrange(seen)) < keep_codes:
                reservoir[j] = sample
        if progress is not None:
            progress(offset + len(planned), n)
    with database.begin() as session:
        audit.record(
            session,
            audit.SYSTEM,
            "demo.seed",
            detail={"consultations": n, "images": images_written, "reviews": reviews_written, "seed": seed},
        )
    samples = list(by_status.values())[:keep_codes]
    samples += [s for s in reservoir if s not in samples][: keep_codes - len(samples)]
    return SeedSummary(
        consultations=n,
        images=images_written,
        reviews=reviews_written,
        per_status={s.value: per_status.get(s.value, 0) for s in Status},
        seconds=time.perf_counter() - started,
        sample_codes=samples,
    )
