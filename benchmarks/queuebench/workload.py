"""What is timed at each size, each the way the app's pages do it, and PostgreSQL's plans of the queue."""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from db.consultations import (
    QueueCursor,
    claim,
    get_consultation_for_clinician,
    list_queue,
    lookup_by_code,
    queue_counts,
    record_review,
)
from db.engine import Database
from db.models import Status, utcnow
from db.stats import turnaround
from db.users import Clinician

from .timing import Timing, measure

PAGE = 25  # pages/queue.py PAGE_SIZE
OPEN = [Status.SUBMITTED, Status.IN_REVIEW]
ALL = list(Status)


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
    """Every metric of ``report.METRICS`` at the database's current size (review saves when ≥ 3 wait)."""
    now = utcnow()
    return {**queue_timings(database, now, reps, heavy_reps), **consultation_timings(database, codes, clinicians, reps),
            **lookup_timings(database, codes, reps, rng)}


def queue_reader(database: Database, now: datetime, statuses: list[Status], after: QueueCursor | None = None,
                 **filters: Any) -> Callable[[int], Any]:
    """One queue page read as the page does (its claimants' names loaded)."""
    def run(_: int) -> None:
        with database.begin() as s:  # as the page does
            page = list_queue(s, statuses=statuses, limit=PAGE, after=after, now=now, **filters)
            [c.claimed_by.username if c.claimed_by else "" for c in page.items]

    return run


def queue_timings(database: Database, now: datetime, reps: int, heavy_reps: int) -> dict[str, Timing]:
    """Queue pages with the page's filters, first and deep; counts; turnaround; the whole queue page."""
    def queue(statuses: list[Status], after: QueueCursor | None = None, **filters: Any) -> Callable[[int], Any]:
        return queue_reader(database, now, statuses, after, **filters)

    results: dict[str, Timing] = {}
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
    return results


def consultation_timings(database: Database, codes: list[tuple[str, str, str]], clinicians: list[Clinician],
                         reps: int) -> dict[str, Timing]:
    """Opening a consultation (images and overlays loaded, audited); "Save and next" while ≥ 3 wait."""
    results: dict[str, Timing] = {}
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
    return results


def lookup_timings(database: Database, codes: list[tuple[str, str, str]], reps: int,
                   rng: random.Random) -> dict[str, Timing]:
    """Patient code look-ups, always hits, in shuffled order (``codes`` is shuffled in place): audited and
    committed, and reads only."""
    results: dict[str, Timing] = {}

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
