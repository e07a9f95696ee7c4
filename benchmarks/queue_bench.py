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
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from db.consultations import (  # noqa: E402
    QueueCursor,
    claim,
    get_consultation_for_clinician,
    list_queue,
    lookup_by_code,
    queue_counts,
    record_review,
)
from db.demo import DEMO_CLINICIANS, seed_demo  # noqa: E402
from db.engine import Database  # noqa: E402
from db.models import ConsultImage, Prediction, Status, utcnow  # noqa: E402
from db.stats import percentile, turnaround  # noqa: E402
from db.testing_pg import PostgresUnavailable, create_database, temporary_postgres  # noqa: E402
from db.users import Clinician, get_clinician  # noqa: E402

PAGE = 25  # pages/queue.py PAGE_SIZE
OPEN = [Status.SUBMITTED, Status.IN_REVIEW]
ALL = list(Status)
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# (key, label, goal for p95 in ms or None)
METRICS: list[tuple[str, str, float | None]] = [
    ("q_open", "queue: open, page 1", 300),
    ("q_open_uncertain", "queue: open + uncertain only, page 1", 300),
    ("q_open_oos_wait", "queue: open + out of scope + waiting ≥ 1 day", 300),
    ("q_all", "queue: all statuses, page 1", 300),
    ("q_open_deep", "queue: open, keyset page 20 (or last)", 300),
    ("q_all_deep", "queue: all statuses, keyset page 200 (or last)", 300),
    ("counts", "queue counts (per status)", None),
    ("turnaround", "turnaround, 3 windows (7 d, 30 d, all)", None),
    ("queue_page", "queue page as pages/queue.py (counts + turnaround + page 1)", 300),
    ("queue_page_cached", "queue page with turnaround cached in the UI (counts + page 1)", 300),
    ("open_consultation", "open a consultation (images + overlays, audited)", None),
    ("review_save", "review save (claim + review + next, one commit)", None),
    ("lookup", "patient code look-up (audited: includes its commit)", 10),
    ("lookup_read", "patient code look-up, reads only (audit event not committed)", 10),
]


@dataclass(frozen=True)
class Timing:
    p50: float
    p95: float
    n: int

    def cell(self) -> str:
        return f"{self.p50:.1f} / {self.p95:.1f}"


def measure(fn: Callable[[int], Any], reps: int, warmup: int = 2) -> Timing:
    """Call ``fn(i)`` ``warmup`` times untimed, then ``reps`` times; p50/p95 in ms."""
    for i in range(warmup):
        fn(i)
    times = []
    for i in range(reps):
        start = time.perf_counter()
        fn(warmup + i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return Timing(percentile(times, 0.5), percentile(times, 0.95), len(times))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- databases ----------------------------------------------------------------------------------------
@contextmanager
def sqlite_database(workdir: Path) -> Iterator[Database]:
    path = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    database = Database.from_url(f"sqlite:///{path}")
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def postgres_database(target: str) -> Iterator[Database]:
    if target == "auto":
        # fsync stays on (durable=True): review saves and look-ups commit, and their latency should count it.
        with temporary_postgres(durable=True, settings=["shared_buffers=256MB"]) as server:
            database = Database.from_url(create_database(server, "scalpscope_bench"))
            try:
                yield database
            finally:
                database.dispose()
        return
    database = Database.from_url(target)
    try:
        yield database
    finally:
        database.dispose()


def database_bytes(database: Database) -> int:
    if database.dialect == "sqlite":
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = conn.engine.url.database
        return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
    with database.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())


def blob_bytes(database: Database) -> int:
    """Bytes of image and overlay data stored (what a realistic photo would replace)."""
    with database.session() as s:
        images = s.scalar(select(func.coalesce(func.sum(ConsultImage.size_bytes), 0))) or 0
        overlays = s.scalar(select(func.coalesce(func.sum(func.length(Prediction.overlay_png)), 0))) or 0
    return int(images) + int(overlays)


def analyze(database: Database) -> None:
    """PostgreSQL: VACUUM ANALYZE after a bulk load (autovacuum would do it shortly; measure settled plans)."""
    if database.dialect == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


# --- one size -----------------------------------------------------------------------------------------
def cursor_at(database: Database, statuses: list[Status], pages: int) -> QueueCursor | None:
    """The cursor that opens page ``pages`` (or the last page when there are fewer)."""
    cursor = None
    with database.session() as s:
        for _ in range(pages - 1):
            page = list_queue(s, statuses=statuses, limit=PAGE, after=cursor)
            if page.next_cursor is None:
                break  # the page just read is the last one; ``cursor`` opens it
            cursor = page.next_cursor
    return cursor


def measure_size(
    database: Database,
    codes: list[tuple[str, str, str]],
    clinicians: list[Clinician],
    reps: int,
    heavy_reps: int,
    rng: random.Random,
) -> dict[str, Timing]:
    now = utcnow()
    results: dict[str, Timing] = {}

    def queue(statuses: list[Status], after: QueueCursor | None = None, **filters: Any) -> Callable[[int], Any]:
        def run(_: int) -> None:
            with database.begin() as s:  # as the page does
                page = list_queue(s, statuses=statuses, limit=PAGE, after=after, now=now, **filters)
                [c.claimed_by.username if c.claimed_by else "" for c in page.items]

        return run

    results["q_open"] = measure(queue(OPEN), reps)
    results["q_open_uncertain"] = measure(queue(OPEN, uncertain_only=True), reps)
    results["q_open_oos_wait"] = measure(queue(OPEN, out_of_scope_only=True, min_wait=timedelta(days=1)), reps)
    results["q_all"] = measure(queue(ALL), reps)
    results["q_open_deep"] = measure(queue(OPEN, cursor_at(database, OPEN, 20)), reps)
    results["q_all_deep"] = measure(queue(ALL, cursor_at(database, ALL, 200)), reps)

    def counts(_: int) -> None:
        with database.begin() as s:
            queue_counts(s)

    results["counts"] = measure(counts, reps)

    def windows(s: Any) -> None:
        for days in (7, 30, None):
            turnaround(s, since=None if days is None else now - timedelta(days=days))

    def turnaround_only(_: int) -> None:
        with database.begin() as s:
            windows(s)

    results["turnaround"] = measure(turnaround_only, heavy_reps)

    def queue_page(_: int) -> None:  # pages/queue.py: two units of work
        with database.begin() as s:
            queue_counts(s)
            windows(s)
        queue(OPEN)(0)

    results["queue_page"] = measure(queue_page, heavy_reps)

    def queue_page_cached(_: int) -> None:  # the same page with st.cache_data around the turnaround windows
        with database.begin() as s:
            queue_counts(s)
        queue(OPEN)(0)

    results["queue_page_cached"] = measure(queue_page_cached, reps)

    public_ids = [public_id for _, public_id, _ in codes]

    def open_consultation(i: int) -> None:
        with database.begin() as s:
            c = get_consultation_for_clinician(s, public_ids[i % len(public_ids)], clinicians[0])
            [(image.data, image.prediction.overlay_png if image.prediction else None) for image in c.images]

    results["open_consultation"] = measure(open_consultation, reps)

    with database.session() as s:
        waiting = [c.id for c in list_queue(s, statuses=[Status.SUBMITTED], limit=min(500, reps + 2)).items]
    if len(waiting) >= 3:

        def review(i: int) -> None:
            clinician = clinicians[i % len(clinicians)]
            with database.begin() as s:  # pages/review.py "Save and next"
                claim(s, waiting[i], clinician)
                record_review(s, waiting[i], clinician, "psoriasis", "Benchmark review.", True)
                list_queue(s, statuses=[Status.SUBMITTED], limit=1)

        results["review_save"] = measure(review, len(waiting) - 2)

    def lookup(i: int) -> None:
        with database.begin() as s:
            assert lookup_by_code(s, codes[i % len(codes)][0]) is not None

    shuffled = codes[:]
    rng.shuffle(shuffled)
    codes[:] = shuffled
    results["lookup"] = measure(lookup, reps)

    def lookup_read(i: int) -> None:
        with database.session() as s:  # closes without commit: the audit event is never written
            assert lookup_by_code(s, codes[i % len(codes)][0]) is not None

    results["lookup_read"] = measure(lookup_read, reps)
    return results


# --- realistic image sizes ------------------------------------------------------------------------------
def _jet(x: np.ndarray) -> np.ndarray:
    return np.clip(np.stack([1.5 - np.abs(4 * x - 3), 1.5 - np.abs(4 * x - 2), 1.5 - np.abs(4 * x - 1)], -1), 0, 1)


def _smooth_cam(rng: np.random.Generator) -> np.ndarray:
    """A Grad-CAM-like map: a few smooth blobs on a 7x7 grid (GoogLeNet's last block), min-max scaled."""
    yy, xx = np.mgrid[0:7, 0:7].astype(np.float32)
    cam = sum(np.exp(-((xx - rng.uniform(1, 5)) ** 2 + (yy - rng.uniform(1, 5)) ** 2) / 3.0) for _ in range(3))
    return ((cam - cam.min()) / (cam.max() - cam.min())).astype(np.float32)


def realistic_sizes(photos: list[Path]) -> dict[str, Any]:
    """Stored bytes for real photos put through the app's storage path (pages/_resources.submission_records):
    the sanitised JPEG (decode at up to 2048 px, re-encode q90) and the overlay PNG at the 512 px working size.
    Uses scalp_model's own functions when importable, else an equivalent of them (noted in ``pipeline``)."""
    rng = np.random.default_rng(0)
    try:
        from scalp_model.serving.cam import overlay_png
        from scalp_model.serving.preprocess import decode_image, sanitized_bytes

        pipeline = "scalp_model.serving.preprocess.sanitized_bytes + scalp_model.serving.cam.overlay_png"
    except Exception as exc:  # noqa: BLE001 - optional here: any failure to import scalp_model means "use the equivalent"
        pipeline = f"equivalent of scalp_model (import failed: {type(exc).__name__})"
        decode_image = sanitized_bytes = overlay_png = None  # type: ignore[assignment]
    rows = []
    for path in photos:
        data = path.read_bytes()
        if decode_image is not None:
            stored = decode_image(data, working_size=2048, max_bytes=64 << 20, max_pixels=200_000_000).image
            jpeg, _ = sanitized_bytes(stored)
            working = decode_image(data, max_bytes=64 << 20, max_pixels=200_000_000).image
            png = overlay_png(working, _smooth_cam(rng))
            size = stored.size
        else:
            with Image.open(path) as img:
                img = img.convert("RGB")
                stored = img.copy()
                stored.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
                buffer = io.BytesIO()
                stored.save(buffer, format="JPEG", quality=90, optimize=True)
                jpeg = buffer.getvalue()
                working = img.copy()
                working.thumbnail((512, 512), Image.Resampling.BILINEAR)
            rgb = np.asarray(working, dtype=np.float32) / 255
            cam = np.asarray(Image.fromarray(_smooth_cam(rng)).resize(working.size, Image.Resampling.BILINEAR))
            blended = (np.clip(0.55 * rgb + 0.45 * _jet(cam), 0, 1) * 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(blended).save(buffer, format="PNG")
            png = buffer.getvalue()
            size = stored.size
        rows.append(
            {"photo": path.name, "stored_px": list(size), "jpeg_bytes": len(jpeg), "overlay_png_bytes": len(png)}
        )
    return {"pipeline": pipeline, "photos": rows}


def default_photos() -> list[Path]:
    """The largest real JPEGs in ../shared/data (>= 2048 px long side preferred), if that folder exists."""
    if not SHARED_DATA.is_dir():
        return []
    found = []
    for path in SHARED_DATA.rglob("*.jp*g"):
        try:
            with Image.open(path) as img:
                found.append((max(img.size), path))
        except OSError:
            continue
    found.sort(reverse=True)
    return [p for _, p in found[:3]]


# --- report ---------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = next(
            int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def markdown(report: dict[str, Any]) -> str:
    runs = report["runs"]
    columns = [(r["backend"], r["size"]) for r in runs]
    header = (
        "| metric (p50 / p95 ms) | goal p95 | "
        + " | ".join(f"{'SQLite' if b == 'sqlite' else 'PostgreSQL'} {n:,}" for b, n in columns)
        + " |"
    )
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for key, label, goal in METRICS:
        cells = []
        for run in runs:
            t = run["timings"].get(key)
            cells.append(f"{t['p50']:.1f} / {t['p95']:.1f}" if t else "n/a")
        lines.append(f"| {label} | {f'≤ {goal:g}' if goal else ''} | " + " | ".join(cells) + " |")
    lines.append("| seed time for this step (s) | | " + " | ".join(f"{r['seed_seconds']:.1f}" for r in runs) + " |")
    lines.append(
        "| database size / consultation (KB, demo images) | | "
        + " | ".join(f"{r['bytes_per_consultation'] / 1024:.1f}" for r in runs)
        + " |"
    )
    lines.append(
        "| of which not image/overlay bytes (KB) | | "
        + " | ".join(f"{r['overhead_bytes_per_consultation'] / 1024:.1f}" for r in runs)
        + " |"
    )
    lines.append("| open consultations at this size | | " + " | ".join(f"{r['open']:,}" for r in runs) + " |")
    out = ["\n".join(lines)]
    realistic = report.get("realistic")
    if realistic and realistic["photos"]:
        rows = ["| photo | stored size (px) | sanitised JPEG (KB) | overlay PNG 512 px (KB) |", "|---|---|---|---|"]
        for p in realistic["photos"]:
            rows.append(
                f"| {p['photo']} | {p['stored_px'][0]}×{p['stored_px'][1]} | {p['jpeg_bytes'] / 1024:.0f} | "
                f"{p['overlay_png_bytes'] / 1024:.0f} |"
            )
        est = realistic["estimate"]
        rows.append(
            f"\nRealistic per consultation ({est['images_per_consultation']:.2f} photos on average, as seeded): "
            f"**{est['kb_per_consultation']:.0f} KB** = {est['overhead_kb']:.1f} KB rows/indexes (measured, "
            f"{est['overhead_from']}) + photos × {est['photo_kb']:.0f} KB; 1 photo ≈ {est['kb_1_photo']:.0f} KB, "
            f"3 photos ≈ {est['kb_3_photos']:.0f} KB; 100,000 consultations ≈ {est['gb_per_100k']:.1f} GB. "
            f"Pipeline: {realistic['pipeline']}."
        )
        out.append("\n".join(rows))
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
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
        realistic = realistic_sizes(photos)
        largest = max(report["runs"], key=lambda r: (r["size"], r["backend"] == "sqlite"))
        per_image = statistics.mean(p["jpeg_bytes"] + p["overlay_png_bytes"] for p in realistic["photos"])
        overhead = largest["overhead_bytes_per_consultation"]
        ipc = largest["images_per_consultation"]
        realistic["estimate"] = {
            "images_per_consultation": ipc,
            "photo_kb": per_image / 1024,
            "overhead_kb": overhead / 1024,
            "overhead_from": f"{'SQLite' if largest['backend'] == 'sqlite' else 'PostgreSQL'} {largest['size']:,}",
            "kb_per_consultation": (overhead + ipc * per_image) / 1024,
            "kb_1_photo": (overhead + per_image) / 1024,
            "kb_3_photos": (overhead + 3 * per_image) / 1024,
            "gb_per_100k": (overhead + ipc * per_image) * 100_000 / 1024**3,
        }
        report["realistic"] = realistic
    table = markdown(report)
    m = report["machine"]
    print(
        f"Measured {m['date']} on {m['cpu']} ({m['cpus']} CPUs, {m['memory_gib']} GiB), Python {m['python']}, "
        f"SQLite {m['sqlite']}, load average at start {m['load_average_at_start']}; total {report['seconds']:.0f} s.\n"
    )
    print(table)
    for name, plan in report["explain"].items():
        print(f"\n<details><summary>EXPLAIN ANALYZE: {name}</summary>\n\n```\n{plan}\n```\n</details>")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


def run_backend(
    database: Database,
    backend: str,
    sizes: list[int],
    args: argparse.Namespace,
    report: dict[str, Any],
    rng: random.Random,
) -> None:
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


def explain_postgres(database: Database, codes: list[tuple[str, str, str]]) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the queue's first page, a deep keyset page and a code look-up."""
    from sqlalchemy.dialects import postgresql

    from db.codes import hash_code, normalise_code
    from db.models import Consultation

    captured: list[tuple[str, Any]] = []
    plans: dict[str, str] = {}

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))

    from sqlalchemy import event

    def plan(name: str, statement: str, parameters: Any) -> None:
        with database.engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
            plans[name] = "\n".join(r[0] for r in rows)

    event.listen(database.engine, "before_cursor_execute", capture)
    try:
        with database.session() as s:
            list_queue(s, statuses=OPEN, limit=PAGE)
        first = captured[-1]
        deep_cursor = cursor_at(database, ALL, 200)
        captured.clear()
        with database.session() as s:
            list_queue(s, statuses=ALL, limit=PAGE, after=deep_cursor)
        deep = captured[-1]
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
    plan("queue, open, page 1", *first)
    plan("queue, all statuses, keyset page 200", *deep)
    with database.session() as s:
        digest = hash_code(s, normalise_code(codes[0][0]) or "")
        query = select(Consultation.id).where(Consultation.access_code_hash == digest)
        compiled = query.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"literal_binds": True})
    plan("patient code look-up (by hash)", str(compiled), {})
    return plans


if __name__ == "__main__":
    sys.exit(main())
