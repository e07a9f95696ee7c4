#!/usr/bin/env python
"""Consultation-store benchmark: the clinician queue, patient look-ups and review saves at scale.

    python benchmarks/queue_bench.py                        # 1k/10k/100k on SQLite and PostgreSQL
    python benchmarks/queue_bench.py --sizes 1000,10000     # smaller
    python benchmarks/queue_bench.py --backends sqlite --json results.json
    python benchmarks/queue_bench.py --postgres postgresql+psycopg://user:pw@host/emptydb

Not a test: it prints a Markdown table (p50 / p95 in milliseconds) and, with ``--json FILE``, the raw
figures. Each backend's database grows through ``--sizes`` with ``db.demo.seed_demo`` (the same rows as
``python -m db seed-demo``) and is measured at each size. ``--postgres auto`` (default) starts a private
PostgreSQL on 127.0.0.1 from the PostgreSQL 15 binaries (``db.testing_pg``, fsync on so that commit
times are real) and deletes it afterwards; ``--postgres none`` skips PostgreSQL.

What is timed, each the way the app's pages do it:

* queue pages: ``list_queue`` (25 rows) with the queue page's filters, first and deep keyset pages;
* the queue page as ``pages/queue.py`` renders it: counts + turnaround for 3 windows + page 1, and the
  same page with the turnaround cached in the UI (what it costs once ``st.cache_data`` wraps it);
* opening a consultation (``get_consultation_for_clinician``, images and overlays loaded, audited);
* review save as "Save and next" does: claim + ``record_review`` + next submitted, one unit of work;
* patient code look-up (``lookup_by_code``, audited), always a hit; also without its commit;
* database size per consultation (SQLite file after a WAL checkpoint; PostgreSQL ``pg_database_size``).

The demo rows carry small 96x72 images; a realistic per-consultation size is estimated separately from
real photos put through the app's storage path (sanitised JPEG, 2048 px cap, plus a 512 px overlay PNG).

This file is the command line; the work is in ``benchmarks/queuebench/`` (one job a module).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.queuebench.photos import default_photos, realistic_estimate, realistic_sizes  # noqa: E402
from benchmarks.queuebench.report import machine, print_report  # noqa: E402
from benchmarks.queuebench.runner import run_backend  # noqa: E402
from benchmarks.queuebench.stores import postgres_database, sqlite_database  # noqa: E402
from benchmarks.queuebench.timing import log  # noqa: E402
from db.testing_pg import PostgresUnavailable  # noqa: E402


def get_args_parser() -> argparse.ArgumentParser:
    """The benchmark's options (sizes, backends, repetitions, photos, output)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="cumulative sizes, ascending (%(default)s)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="%(default)s")
    parser.add_argument("--postgres", default="auto", help="auto (private server), none, or an EMPTY database URL")
    parser.add_argument("--reps", type=int, default=40, help="timed calls per fast metric (%(default)s)")
    parser.add_argument("--heavy-reps", type=int, default=12, help="timed calls for turnaround/page (%(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="where the SQLite file goes (default: temp)")
    parser.add_argument("--photo", type=Path, action="append", help="real photo(s) for the size estimate")
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL EXPLAIN ANALYZE at the largest size")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.postgres == "none":
        backends = [b for b in backends if b != "postgresql"]
    report: dict[str, Any] = {"machine": machine(), "sizes": sizes, "runs": [], "explain": {}}
    log(f"machine: {report['machine']}")
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scalpscope-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    try:
        for backend in backends:
            try:
                opened = sqlite_database(workdir) if backend == "sqlite" else postgres_database(args.postgres)
                with opened as database:
                    run_backend(database, backend, sizes, args, report, rng)
            except PostgresUnavailable as exc:
                log(f"skipping PostgreSQL: {exc}")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    photos = args.photo or default_photos()
    if photos and report["runs"]:
        log(f"realistic sizes from {[p.name for p in photos]}")
        report["realistic"] = realistic_sizes(photos)
        report["realistic"]["estimate"] = realistic_estimate(report["realistic"], report["runs"])
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
