"""One backend, grown through the sizes with ``db.demo.seed_demo`` and measured at each."""
from __future__ import annotations

import argparse
import random
from typing import Any

from sqlalchemy import func, select, text

from db.demo import DEMO_CLINICIANS, seed_demo
from db.engine import Database
from db.consultations import queue_counts
from db.models import ConsultImage, Status
from db.users import get_clinician

from .stores import analyze, blob_bytes, database_bytes
from .timing import log
from .workload import explain_postgres, measure_size


def run_backend(
    database: Database,
    backend: str,
    sizes: list[int],
    args: argparse.Namespace,
    report: dict[str, Any],
    rng: random.Random,
) -> None:
    """Seed ``database`` up to each of ``sizes`` and append one run per size to ``report["runs"]``."""
    database.migrate()
    if backend == "postgresql":
        with database.session() as s:
            if s.execute(text("SELECT count(*) FROM consultations")).scalar_one():
                raise SystemExit("--postgres URL must point at an empty database (the benchmark adds demo rows).")
    empty_bytes = database_bytes(database)
    codes: list[tuple[str, str, str]] = []
    seeded = 0
    for index, size in enumerate(sizes):
        log(f"{backend}: seeding {size - seeded:,} more consultations (to {size:,})")
        summary = seed_demo(database, size - seeded, seed=args.seed + index, keep_codes=max(args.reps, 50))
        seeded = size
        codes += summary.sample_codes
        analyze(database)
        with database.session() as s:
            clinicians = [c for c in (get_clinician(s, u) for u in DEMO_CLINICIANS) if c is not None]
            per_status = queue_counts(s)
            images = s.scalar(select(func.count()).select_from(ConsultImage)) or 0
        total_bytes = database_bytes(database)
        blobs = blob_bytes(database)
        log(f"{backend} {size:,}: seeded in {summary.seconds:.1f} s; measuring")
        timings = measure_size(database, codes, clinicians, args.reps, args.heavy_reps, rng)
        run = {
            "backend": backend,
            "size": size,
            "seed_seconds": round(summary.seconds, 2),
            "per_status": per_status,
            "open": per_status[Status.SUBMITTED] + per_status[Status.IN_REVIEW],
            "images_per_consultation": images / size,
            "database_bytes": total_bytes,
            "empty_database_bytes": empty_bytes,
            "bytes_per_consultation": total_bytes / size,
            "overhead_bytes_per_consultation": (total_bytes - empty_bytes - blobs) / size,
            "timings": {k: vars(v) for k, v in timings.items()},
        }
        report["runs"].append(run)
        log(f"{backend} {size:,}: " + ", ".join(f"{k} {v.cell()}" for k, v in timings.items()))
    if backend == "postgresql" and args.explain:
        report["explain"].update(explain_postgres(database, codes))
