"""``python -m db seed-demo``: synthetic demo consultations (db/demo/), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from db.__main__ import main
from db.consultations import (
    OPEN_STATUSES,
    claim,
    compute_triage,
    list_queue,
    lookup_by_code,
    queue_counts,
    record_review,
    submit_consultation,
)
from db.demo import DEMO_CLINICIANS, SeedSummary, seed_demo
from db.engine import Database
from db.errors import InvalidCredentialsError
from db.export import export_training
from db.models import Consultation, ConsultImage, Prediction, Review, Status, User, utcnow
from db.users import authenticate, create_user
from tests.db.builders import HISTORY, TEST_PASSWORD, new_image, new_prediction

N = 200


def url_of(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def seeded(database: Database) -> tuple[Database, SeedSummary]:
    summary = seed_demo(database, N, seed=3, keep_codes=8)
    assert summary.consultations == N
    return database, summary


def test_counts_flags_and_consistency(seeded: tuple[Database, SeedSummary]) -> None:
    database, summary = seeded
    now = utcnow()
    with database.session() as s:
        rows = list(
            s.scalars(
                select(Consultation).options(
                    selectinload(Consultation.images).selectinload(ConsultImage.prediction),
                    selectinload(Consultation.reviews),
                )
            )
        )
        assert len(rows) == N and all(c.is_demo for c in rows)
        assert queue_counts(s) == summary.per_status and sum(summary.per_status.values()) == N
        assert s.scalar(select(func.count()).select_from(ConsultImage)) == summary.images
        assert s.scalar(select(func.count()).select_from(Prediction)) == summary.images
        assert s.scalar(select(func.count()).select_from(Review)) == summary.reviews
        assert N <= summary.images <= 3 * N
        demo_users = {u.id: u for u in s.scalars(select(User))}
        assert sorted(u.username for u in demo_users.values()) == sorted(DEMO_CLINICIANS)
        assert all(u.is_demo for u in demo_users.values())
        by_status = Counter(c.status for c in rows)
        assert by_status[Status.CLOSED] > 0 and by_status[Status.REVIEWED] > 0 and by_status[Status.SUBMITTED] > 0
        for c in rows:
            assert now - timedelta(weeks=6) <= c.created_at <= c.updated_at <= now
            assert (c.claimed_at is None) == (c.status == Status.SUBMITTED) == (c.claimed_by_id is None)
            assert (c.reviewed_at is not None) == (c.status in (Status.REVIEWED, Status.CLOSED)) == bool(c.reviews)
            assert (c.closed_at is not None) == (c.status == Status.CLOSED)
            if c.reviews:
                assert c.reviews[0].clinician_id == c.claimed_by_id and c.reviews[0].created_at == c.reviewed_at
            predictions = [image.prediction for image in c.images]
            assert all(p is not None and p.overlay_png for p in predictions)
            assert all(image.data[:2] == b"\xff\xd8" and image.size_bytes == len(image.data) for image in c.images)
            triage = compute_triage(
                [p for p in predictions if p is not None],  # the stored rows are Estimates too
                created_at=c.created_at,
                itch=c.itch,
            )
            assert (c.priority, c.any_uncertain, c.any_out_of_scope) == (
                triage.priority,
                triage.any_uncertain,
                triage.any_out_of_scope,
            )
    # The handed-back codes open their consultations (one per status first).
    assert {status for _, _, status in summary.sample_codes} == set(Status)
    with database.begin() as s:
        for code, _, status in summary.sample_codes:
            view = lookup_by_code(s, code.lower())
            assert view is not None and view.status == status
            assert (view.diagnosis is not None) == (status in (Status.REVIEWED, Status.CLOSED))


def test_demo_clinicians_cannot_sign_in(seeded: tuple[Database, SeedSummary]) -> None:
    with pytest.raises(InvalidCredentialsError), seeded[0].begin() as s:
        authenticate(s, DEMO_CLINICIANS[0], "!demo-account-cannot-sign-in")


def test_queue_pagination_returns_every_open_row_once(seeded: tuple[Database, SeedSummary]) -> None:
    database = seeded[0]
    with database.session() as s:
        everything = list(s.scalars(select(Consultation)))

    def key(c: Consultation) -> tuple[int, object, int]:
        return (-c.priority, c.created_at, c.id)

    for statuses, filters, limit in (
        (list(OPEN_STATUSES), {}, 7),
        (list(Status), {}, 25),
        ([Status.CLOSED, Status.SUBMITTED], {"uncertain_only": True}, 4),
        (list(Status), {"out_of_scope_only": True, "min_wait": timedelta(days=2)}, 3),
    ):
        expected = [
            c.id
            for c in sorted(everything, key=key)
            if c.status in statuses
            and (not filters.get("uncertain_only") or c.any_uncertain)
            and (not filters.get("out_of_scope_only") or c.any_out_of_scope)
            and ("min_wait" not in filters or c.created_at <= utcnow() - filters["min_wait"])
        ]
        seen: list[int] = []
        cursor = None
        with database.session() as s:
            for _ in range(N):
                page = list_queue(s, statuses=statuses, limit=limit, after=cursor, **filters)
                assert len(page.items) <= limit
                seen += [c.id for c in page.items]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        assert seen == expected, (statuses, filters)
    assert len([c for c in everything if c.status in OPEN_STATUSES]) >= 5  # the open queue is not trivial


def test_export_training_excludes_demo_rows_by_default(seeded: tuple[Database, SeedSummary], tmp_path: Path) -> None:
    database = seeded[0]
    with database.begin() as s:
        alice = create_user(s, "alice", TEST_PASSWORD)
        real, _ = submit_consultation(s, HISTORY, "v1", [new_image("JPEG")], [new_prediction(0.9)])
        claim(s, real.id, alice)
        record_review(s, real.id, alice, "psoriasis")
    with database.session() as s:
        summary = export_training(s, tmp_path / "real")
        with_demo = export_training(s, tmp_path / "all", include_demo=True)
        demo_trainable = s.scalar(
            select(func.count())
            .select_from(ConsultImage)
            .join(Consultation)
            .join(Review)
            .where(Consultation.is_demo.is_(True), Review.diagnosis.in_(("psoriasis", "seborrheic_dermatitis")))
        )
    with (tmp_path / "real" / "groups.csv").open(newline="") as handle:
        assert [row["group"] for row in csv.DictReader(handle)] == [real.public_id]
    assert summary.images == 1 and summary.consultations == 1
    assert demo_trainable and with_demo.images == 1 + demo_trainable


def test_seed_demo_command_twice(database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    first = main(["seed-demo", "30", "--database-url", url_of(database), "--seed", "1"])
    second = main(["--database-url", url_of(database), "seed-demo", "20", "--weeks", "1"])  # no collisions
    out, err = capsys.readouterr()
    assert (first, second) == (0, 0), err
    assert "Seeded 30 demo consultations" in out and "Seeded 20 demo consultations" in out
    assert out.count("access code ") >= 4
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Consultation)) == 50
        assert s.scalar(select(func.count()).select_from(User)) == len(DEMO_CLINICIANS)
    assert main(["seed-demo", "0", "--database-url", url_of(database)]) == 1


def test_seed_demo_needs_current_schema(empty_database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    empty_database.migrate("0001")  # an older schema is refused (a brand-new database is created instead)
    assert main(["seed-demo", "5", "--database-url", url_of(empty_database)]) == 1
    assert "python -m db migrate" in capsys.readouterr().err
