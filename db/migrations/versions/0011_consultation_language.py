"""The language a consultation was submitted in (issue 21): ``consultations.language``.

A Babel locale identifier as the patient's session used it (``en``, ``zh_CN``), so the clinic knows which
language the patient read the questions, the consent and the estimate in, and writes back in. NULL for every
consultation stored before this revision (not known) and for ones stored outside the app. No CHECK: the list
of languages grows with the catalogs; ``db.consultations`` checks the form of the value. Both backends add
the column in place; downgrade drops it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column("consultations", sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # a plain column: SQLite drops it in place (3.35+)
        op.execute("ALTER TABLE consultations DROP COLUMN language")
        return
    op.drop_column("consultations", "language")
