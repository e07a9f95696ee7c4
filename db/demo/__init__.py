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
per chunk, with primary keys reserved up front (:func:`db.demo.rows.reserve_ids`); access codes come from
:func:`db.codes.new_access_code` and are stored under HMAC-SHA256 (no slow hashing).
``seed`` fixes the content (statuses, histories, probabilities, times); public ids and access codes
always come from ``secrets``, so seeding the same database twice never collides.

One module per job: :mod:`~db.demo.content` (texts, demo model), :mod:`~db.demo.pictures` (generated
pictures and overlays, coloured by ``scalp_model.serving.cam``), :mod:`~db.demo.plan` (one consultation's rows, labels
by ``scalp_model.serving.predictor.label_for``) and :mod:`~db.demo.rows` (bulk writes). ``pictures`` and ``plan``
load ``scalp_model`` (and torch): they are imported when seeding starts, so importing ``db`` stays light.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from db import audit
from db.codes import code_pepper
from db.demo.content import DEMO_CLINICIANS
from db.demo.rows import ensure_demo_clinicians, insert_chunk, reserve_ids
from db.engine import Database
from db.errors import ValidationError
from db.models import Status, utcnow

__all__ = ["CHUNK", "DEMO_CLINICIANS", "MAX_CONSULTATIONS", "SeedSummary", "ensure_demo_clinicians",
           "reserve_ids", "seed_demo"]

CHUNK = 1000
MAX_CONSULTATIONS = 10_000_000
Sample = tuple[str, str, str]  # (access code, public id, status)


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed_demo` wrote; ``sample_codes`` are (access code, public id, status) to try out."""

    consultations: int
    images: int
    reviews: int
    per_status: dict[str, int]
    seconds: float
    sample_codes: list[Sample] = field(default_factory=list)


class _Samples:
    """A few access codes to hand back: the first of each status, then a uniform reservoir sample."""

    def __init__(self, keep: int, seed: int | None) -> None:
        self.keep, self.sampler, self.seen = keep, random.Random(seed), 0
        self.by_status: dict[str, Sample] = {}
        self.reservoir: list[Sample] = []

    def offer(self, sample: Sample) -> None:
        self.by_status.setdefault(sample[2], sample)
        self.seen += 1
        if len(self.reservoir) < self.keep:
            self.reservoir.append(sample)
        elif (j := self.sampler.randrange(self.seen)) < self.keep:
            self.reservoir[j] = sample

    def chosen(self) -> list[Sample]:
        samples = list(self.by_status.values())[: self.keep]
        return samples + [s for s in self.reservoir if s not in samples][: self.keep - len(samples)]


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
    Raises ``ValidationError`` for ``n`` outside 1..10,000,000 or ``weeks`` not positive.
    """
    from db.demo.pictures import picture_pool  # loads scalp_model (torch): only when seeding
    from db.demo.plan import plan_one

    if not 1 <= n <= MAX_CONSULTATIONS:
        raise ValidationError(f"Seed between 1 and {MAX_CONSULTATIONS:,} consultations, not {n}.")
    if weeks <= 0:
        raise ValidationError("weeks must be positive.")
    started = time.perf_counter()
    rng, samples = random.Random(seed), _Samples(keep_codes, seed)
    now = now or utcnow()
    pool = picture_pool(0 if seed is None else seed)
    clinician_ids = ensure_demo_clinicians(database)
    with database.begin() as session:
        pepper = code_pepper(session)
    per_status: Counter[str] = Counter()
    images_written = reviews_written = 0
    for offset in range(0, n, chunk):
        planned = [plan_one(rng, now, weeks, clinician_ids, pool) for _ in range(min(chunk, n - offset))]
        with database.begin() as session:
            images, reviews = insert_chunk(session, planned, pepper)
        images_written += images
        reviews_written += reviews
        for plan in planned:
            per_status[plan.consultation["status"]] += 1
            samples.offer((plan.code, plan.consultation["public_id"], plan.consultation["status"]))
        if progress is not None:
            progress(offset + len(planned), n)
    with database.begin() as session:
        audit.record(session, audit.SYSTEM, "demo.seed",
                     detail={"consultations": n, "images": images_written, "reviews": reviews_written, "seed": seed})
    return SeedSummary(consultations=n, images=images_written, reviews=reviews_written,
                       per_status={s.value: per_status.get(s.value, 0) for s in Status},
                       seconds=time.perf_counter() - started, sample_codes=samples.chosen())
