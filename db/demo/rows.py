"""Writing demo rows fast: primary keys reserved up front, the demo clinicians, and one chunk of planned
consultations as Core bulk INSERTs (executemany) in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from db import audit
from db.codes import hash_with_pepper, normalise_code
from db.demo.content import DEMO_CLINICIANS, UNUSABLE_PASSWORD_HASH
from db.engine import Database
from db.models import Base, Consultation, ConsultImage, InfoRequest, Prediction, Review, User, utcnow

if TYPE_CHECKING:
    from db.demo.plan import Planned


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



def insert_chunk(session: Session, planned: Sequence[Planned], pepper: bytes) -> tuple[int, int]:
    """Write planned consultations with their images, predictions and reviews; returns (images, reviews).

    Core INSERTs (executemany): the ORM's bulk path drops None values and so splits the rows into many small
    statements by their key sets. Access codes are stored as :func:`db.codes.hash_with_pepper` of the code.
    """
    rows = [{**plan.consultation, "access_code_hash": hash_with_pepper(pepper, normalise_code(plan.code) or "")}
            for plan in planned]
    for row, consultation_id in zip(rows, reserve_ids(session, Consultation, len(rows)), strict=True):
        row["id"] = consultation_id
    session.execute(insert(Consultation.__table__), rows)
    image_rows: list[dict[str, Any]] = []
    prediction_rows: list[dict[str, Any]] = []
    review_rows: list[dict[str, Any]] = []
    request_rows: list[dict[str, Any]] = []
    for plan, row in zip(planned, rows, strict=True):
        for position, (picture, capture, prediction) in enumerate(plan.images):
            image_rows.append({"consultation_id": row["id"], "position": position, "data": picture.jpeg,
                               "sha256": picture.sha256, "size_bytes": len(picture.jpeg), "mime": "image/jpeg",
                               "width": picture.width, "height": picture.height, "capture": capture})
            prediction_rows.append({**prediction, "overlay_png": picture.overlay_png,
                                    "created_at": plan.consultation["created_at"]})
        if plan.review is not None:
            review_rows.append({"consultation_id": row["id"], **plan.review})
        if plan.request is not None:
            request_rows.append({"consultation_id": row["id"], **plan.request})
    image_ids = reserve_ids(session, ConsultImage, len(image_rows))
    for image_row, prediction_row, image_id in zip(image_rows, prediction_rows, image_ids, strict=True):
        image_row["id"] = prediction_row["image_id"] = image_id
    session.execute(insert(ConsultImage.__table__), image_rows)
    session.execute(insert(Prediction.__table__), prediction_rows)
    if review_rows:
        session.execute(insert(Review.__table__), review_rows)
    if request_rows:
        session.execute(insert(InfoRequest.__table__), request_rows)
    return len(image_rows), len(review_rows)
