"""The queue is ordered by when each case is due (issue 18, item 2): ``consultations.priority`` becomes
minus the due time in minutes since 1970 (submit time + a target turnaround of 24 to 72 hours, see
``db/triage.py``), no longer 10000 x (out of scope / uncertain tier) + 1000 x max P(psoriasis).

Only the values change (the column, its type and the queue index stay), so existing rows are rewritten
here in batches from their stored flags, itch and submit time. Downgrade restores the previous rule from
the same stored columns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_BATCH = 5_000
consultations = sa.table(
    "consultations",
    sa.column("id", sa.Integer),
    sa.column("priority", sa.Integer),
    sa.column("max_p_psoriasis", sa.Float),
    sa.column("any_uncertain", sa.Boolean),
    sa.column("any_out_of_scope", sa.Boolean),
    sa.column("itch", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _due_key(row: sa.Row) -> int:
    """The rule of db/triage.py as of this revision (copied: a migration must not change with the app)."""
    hours = 72
    if row.any_uncertain:
        hours = 48
    if row.any_out_of_scope or row.itch == "severe":
        hours = 24
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
    return -int((created + timedelta(hours=hours) - _EPOCH).total_seconds() // 60)


def _old_key(row: sa.Row) -> int:
    tier = 2 if row.any_out_of_scope else 1 if row.any_uncertain else 0
    return 10_000 * tier + round(1000 * (row.max_p_psoriasis or 0.0))


def _rewrite(key) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(consultations).where(consultations.c.id > last).order_by(consultations.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            sa.update(consultations).where(consultations.c.id == sa.bindparam("row_id")),
            [{"row_id": row.id, "priority": key(row)} for row in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    _rewrite(_due_key)


def downgrade() -> None:
    _rewrite(_old_key)
