"""One submission stores one consultation: ``consultations.submission_key`` with a unique index.

The New consultation page gives every filled form a random key and sends it with the submission; a second
submission of the same form (a double click while the first is being saved, a run interrupted after its
commit) finds the consultation already stored instead of storing another. NULL for rows stored before
this revision and for consultations made outside the app (NULLs never collide in a unique index).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN and a separate unique index: SQLite adds both without rebuilding the table.
    op.add_column("consultations", sa.Column("submission_key", sa.String(length=64), nullable=True))
    op.create_index("ix_consultations_submission_key", "consultations", ["submission_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_consultations_submission_key", table_name="consultations")
    op.drop_column("consultations", "submission_key")
