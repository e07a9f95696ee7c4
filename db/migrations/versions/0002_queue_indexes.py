"""Indexes for the queue page at 100,000 consultations; room for the app's longest ``sex`` answer.

* ``ix_consultations_queue`` becomes (status, priority DESC, created_at, id): within one status a queue
  page (``ORDER BY priority DESC, created_at, id LIMIT n``, with the keyset bound) is an index range scan
  that stops after n rows, instead of reading and sorting every row of that status. The old
  (status, priority, created_at) could not serve the mixed DESC/ASC order.
* ``ix_consultations_turnaround`` (created_at, reviewed_at, is_demo) covers :func:`db.stats.turnaround`:
  its 7- and 30-day windows become index range scans, and "all time" reads the index, not the table.
* ``consultations.sex`` grows from 16 to 32 characters: the form's "other / prefer not to say" is 25,
  which PostgreSQL rejected (SQLite does not enforce lengths).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 02:20:00
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _resize_sex(old: int, new: int) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("consultations", "sex", existing_type=sa.String(length=old), type_=sa.String(length=new))
        return
    # SQLite: no ALTER COLUMN TYPE, and batch mode's copy-and-DROP of `consultations` would fire the
    # ON DELETE CASCADE of its images and reviews (foreign keys are on and cannot be switched off inside
    # the migration's transaction). Native ADD/DROP/RENAME COLUMN (SQLite >= 3.35) keeps the table.
    if sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old for this migration; 3.35 or newer is needed.")
    op.execute(f"ALTER TABLE consultations ADD COLUMN sex_resized VARCHAR({new})")
    op.execute("UPDATE consultations SET sex_resized = sex")
    op.execute("ALTER TABLE consultations DROP COLUMN sex")
    op.execute("ALTER TABLE consultations RENAME COLUMN sex_resized TO sex")


def upgrade() -> None:
    op.drop_index("ix_consultations_queue", table_name="consultations")
    _resize_sex(16, 32)
    op.create_index(
        "ix_consultations_queue",
        "consultations",
        ["status", sa.text("priority DESC"), "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_consultations_turnaround", "consultations", ["created_at", "reviewed_at", "is_demo"], unique=False
    )


def downgrade() -> None:  # on PostgreSQL this fails while a `sex` value is longer than 16 characters
    op.drop_index("ix_consultations_turnaround", table_name="consultations")
    op.drop_index("ix_consultations_queue", table_name="consultations")
    _resize_sex(32, 16)
    op.create_index("ix_consultations_queue", "consultations", ["status", "priority", "created_at"], unique=False)
