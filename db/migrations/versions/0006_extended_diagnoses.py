"""The diagnosis list extended with coded values (issue 19, item 3): tinea capitis, alopecia areata, lichen
planopilaris and contact dermatitis beside psoriasis, seborrheic dermatitis, other and "needs an in-person
visit"; "other" now names the condition in ``reviews.diagnosis_other`` (required for "other", CHECK
``ck_reviews_other_specified``).

Existing "other" reviews are given the text ``NOT_SPECIFIED`` (the condition was not recorded then).
Downgrade maps the new codes back to "other" (the only value that held them before) and drops the column.
SQLite changes a CHECK constraint by copying the table (batch mode); PostgreSQL alters it in place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

NOT_SPECIFIED = "not specified (recorded before the list was extended)"
_OLD = ("psoriasis", "seborrheic_dermatitis", "other", "needs_in_person_visit")
_NEW = ("tinea_capitis", "alopecia_areata", "lichen_planopilaris", "contact_dermatitis")
reviews = sa.table("reviews", sa.column("diagnosis", sa.String), sa.column("diagnosis_other", sa.String))


def _allowed(values: tuple[str, ...]) -> str:
    return "diagnosis IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.add_column("reviews", sa.Column("diagnosis_other", sa.String(length=200), nullable=True))
    op.execute(reviews.update().where(reviews.c.diagnosis == "other").values(diagnosis_other=NOT_SPECIFIED))
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint(op.f("ck_reviews_diagnosis"), type_="check")
        batch.create_check_constraint("diagnosis", _allowed(_OLD + _NEW))
        batch.create_check_constraint("other_specified", "diagnosis <> 'other' OR diagnosis_other IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint(op.f("ck_reviews_other_specified"), type_="check")
        batch.drop_constraint(op.f("ck_reviews_diagnosis"), type_="check")
    op.execute(reviews.update().where(reviews.c.diagnosis.in_(_NEW)).values(diagnosis="other"))
    with op.batch_alter_table("reviews") as batch:
        batch.create_check_constraint("diagnosis", _allowed(_OLD))
        batch.drop_column("diagnosis_other")
