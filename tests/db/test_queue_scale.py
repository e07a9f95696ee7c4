"""Migration 0002 (queue and turnaround indexes, wider ``sex``) and the queue's index use.

Timings at 1k-100k consultations are measured by ``benchmarks/queue_bench.py``, not here.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import func, inspect, select, text

from db.consultations import list_queue, submit_consultation
from db.demo import seed_demo
from db.engine import Database
from db.models import Consultation, ConsultImage, Prediction, Review, Status
from db.stats import turnaround
from db.users import create_user
from tests.db.builders import HISTORY, TEST_PASSWORD, new_image, new_prediction

LONGEST_SEX = "other / prefer not to say"  # pages/new_consultation.py: 25 characters


def counts(database: Database) -> tuple[int, ...]:
    with database.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (Consultation, ConsultImage, Prediction, Review)
        )


@contextmanager
def inserts_without(engine, table: str, column: str) -> Iterator[None]:
    """Leave ``column`` out of the ORM's INSERTs into ``table`` while the database is at a revision that lacks
    it (the mapped classes always describe the newest schema). Only a NULL value may be left out."""
    from sqlalchemy import event

    def strip(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        head = f"INSERT INTO {table} ("
        if not statement.startswith(head) or column not in statement:
            return statement, parameters
        names = [n.strip() for n in statement[len(head):statement.index(")")].split(",")]
        i = names.index(column)
        close = statement.index(")")  # the column list rebuilt without it, wherever it stands
        statement = head + ", ".join(n for n in names if n != column) + statement[close:]
        if isinstance(parameters, dict):  # psycopg: "%(name)s::TYPE" placeholders
            for key in [k for k in parameters if re.fullmatch(rf"{column}(__\d+)?", k)]:  # insertmanyvalues: name__N
                assert parameters.pop(key) is None
                statement = re.sub(rf", %\({key}\)s(::[A-Z ]+(\(\d+\))?)?", "", statement, count=1)
            return statement, parameters
        values = list(parameters)
        assert values.pop(i) is None
        statement = statement.replace(", ?", "", 1)
        return statement, tuple(values)

    event.listen(engine, "before_cursor_execute", strip, retval=True)
    batched, engine.dialect.use_insertmanyvalues = engine.dialect.use_insertmanyvalues, False  # one row a statement
    try:
        yield
    finally:
        engine.dialect.use_insertmanyvalues = batched
        event.remove(engine, "before_cursor_execute", strip)


def test_upgrade_from_0001_keeps_every_row(empty_database: Database) -> None:
    database = empty_database
    database.migrate("0001")
    with inserts_without(database.engine, "consultations", "submission_key"), \
            inserts_without(database.engine, "consultations", "follow_up_of_id"), \
            inserts_without(database.engine, "consultations", "reported_course"), \
            inserts_without(database.engine, "consultations", "language"), \
            inserts_without(database.engine, "consult_images", "request_id"), database.begin() as s:
        alice = create_user(s, "alice", TEST_PASSWORD)
        for p in (0.2, 0.9):
            consultation, _ = submit_consultation(
                s, {**HISTORY, "sex": "female"}, "v1", [new_image(), new_image("JPEG")], [new_prediction(p)] * 2
            )
        # Claimed and reviewed as the app did at 0001, in SQL: claim() and record_review() read the columns of
        # the newest schema (a follow-up's link, migration 0008), which a 0001 database does not have.
        s.execute(text("UPDATE consultations SET status = 'reviewed', claimed_by_id = :u, claimed_at = CURRENT_TIMESTAMP, "
                       "reviewed_at = CURRENT_TIMESTAMP WHERE id = :c"), {"u": alice.id, "c": consultation.id})
        s.execute(text("INSERT INTO reviews (consultation_id, clinician_id, diagnosis, notes, created_at) "
                       "VALUES (:c, :u, 'psoriasis', '', CURRENT_TIMESTAMP)"), {"u": alice.id, "c": consultation.id})
    before = counts(database)
    assert before == (2, 4, 4, 1)

    database.migrate()  # 0001 -> 0002 on a database with rows (SQLite: no table rebuild, no cascade)
    assert counts(database) == before
    with database.session() as s:
        assert s.scalar(select(func.count()).where(Consultation.sex == "female")) == 2
    with database.engine.connect() as conn:
        indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("consultations")}
        sex = next(c for c in inspect(conn).get_columns("consultations") if c["name"] == "sex")
    assert indexes["ix_consultations_queue"] == ["status", "priority", "created_at", "id"]
    assert indexes["ix_consultations_turnaround"] == ["created_at", "reviewed_at", "is_demo"]
    assert sex["type"].length == 32
    with database.begin() as s:  # PostgreSQL rejected this before 0002
        submit_consultation(s, {**HISTORY, "sex": LONGEST_SEX}, "v1", [new_image()], [new_prediction()])
        assert [c.status for c in list_queue(s, statuses=list(Status)).items].count(Status.SUBMITTED) == 2
        assert turnaround(s).count == 1


def test_queue_pages_read_the_queue_index(database: Database) -> None:
    """Each status branch of a queue page is an index range scan in queue order (no full sort)."""
    seed_demo(database, 120, seed=5)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    from sqlalchemy import event

    event.listen(database.engine, "before_cursor_execute", capture)
    try:
        with database.session() as s:
            first = list_queue(s, statuses=list(Status), limit=5)
            list_queue(s, statuses=list(Status), limit=5, after=first.next_cursor)
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    with database.engine.connect() as conn:
        if database.dialect == "sqlite":
            plan = "\n".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert plan.count("INDEX ix_consultations_queue (status=? AND priority<?)") == len(Status), plan
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # 120 rows: make the planner show its index choice
            rows = conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + statement, parameters)
            plan = "\n".join(row[0] for row in rows)
            assert plan.count("using ix_consultations_queue") == len(Status), plan
            assert plan.count("Index Cond: ((status = ") == len(Status), plan
