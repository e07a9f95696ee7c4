"""Follow-up over time (issue 19, item 2): a consultation may follow up an earlier one of the same patient.

* ``consultations.follow_up_of_id``: the earlier consultation whose access code the patient gave (NULL for a
  first consultation, i.e. every existing row), foreign key ``ON DELETE SET NULL`` and an index (the
  reviewer's panel reads a patient's later consultations through it);
* ``consultations.reported_course``: the patient's own word on the course since then, optional
  (CHECK ``ck_consultations_reported_course``: better, same, worse);
* ``reviews.course``: the dermatologist's judgement of a follow-up's course (CHECK ``ck_reviews_course``).

Existing rows keep every value and get NULL in the new columns. Both backends add the columns in place
(no table copy): SQLite with ``ALTER TABLE ADD COLUMN`` and then the named CHECK and FOREIGN KEY written
into its stored schema (the procedure of migration 0007, :func:`_sqlite_edit_schema`); PostgreSQL with
``ADD COLUMN`` and ``ADD CONSTRAINT``. Downgrade drops the three columns (the links and courses are lost;
the consultations and reviews stay).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_COURSES = "('better', 'same', 'worse')"
_CONSULTATIONS_ANCHOR = "CONSTRAINT uq_consultations_public_id UNIQUE (public_id)"
_CONSULTATIONS_ADDED = (
    f", \n\tCONSTRAINT ck_consultations_reported_course CHECK (reported_course IN {_COURSES})"
    ", \n\tCONSTRAINT fk_consultations_follow_up_of_id_consultations FOREIGN KEY(follow_up_of_id) "
    "REFERENCES consultations (id) ON DELETE SET NULL")
_REVIEWS_ANCHOR = "CONSTRAINT ck_reviews_other_specified CHECK (diagnosis <> 'other' OR diagnosis_other IS NOT NULL)"
_REVIEWS_ADDED = f", \n\tCONSTRAINT ck_reviews_course CHECK (course IN {_COURSES})"


def _sqlite_edit_schema(table: str, old: str, new: str) -> None:
    """Change a CHECK or a FOREIGN KEY in SQLite's stored schema without copying the table (as in 0007: the
    rows stay valid, every new column being NULL; https://www.sqlite.org/lang_altertable.html, "otheralter"),
    then run the integrity and foreign-key checks."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar_one()
    if sql.count(old) != 1:
        raise RuntimeError(f"{table}: expected {old!r} once in its schema")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                         (sql.replace(old, new), table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA integrity_check")]
    problems += [str(row) for row in bind.exec_driver_sql(f"PRAGMA foreign_key_check({table})")]
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after changing {table}: {problems}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE consultations ADD COLUMN follow_up_of_id INTEGER")
        op.execute("ALTER TABLE consultations ADD COLUMN reported_course VARCHAR(8)")
        op.execute("ALTER TABLE reviews ADD COLUMN course VARCHAR(8)")
        _sqlite_edit_schema("consultations", _CONSULTATIONS_ANCHOR, _CONSULTATIONS_ANCHOR + _CONSULTATIONS_ADDED)
        _sqlite_edit_schema("reviews", _REVIEWS_ANCHOR, _REVIEWS_ANCHOR + _REVIEWS_ADDED)
    else:
        op.add_column("consultations", sa.Column("follow_up_of_id", sa.Integer(), nullable=True))
        op.add_column("consultations", sa.Column("reported_course", sa.String(length=8), nullable=True))
        op.add_column("reviews", sa.Column("course", sa.String(length=8), nullable=True))
        op.create_foreign_key(op.f("fk_consultations_follow_up_of_id_consultations"), "consultations",
                              "consultations", ["follow_up_of_id"], ["id"], ondelete="SET NULL")
        op.create_check_constraint(op.f("ck_consultations_reported_course"), "consultations",
                                   f"reported_course IN {_COURSES}")
        op.create_check_constraint(op.f("ck_reviews_course"), "reviews", f"course IN {_COURSES}")
    op.create_index(op.f("ix_consultations_follow_up_of_id"), "consultations", ["follow_up_of_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consultations_follow_up_of_id"), table_name="consultations")
    if op.get_bind().dialect.name == "sqlite":  # SQLite drops a column only once no constraint names it
        _sqlite_edit_schema("reviews", _REVIEWS_ANCHOR + _REVIEWS_ADDED, _REVIEWS_ANCHOR)
        _sqlite_edit_schema("consultations", _CONSULTATIONS_ANCHOR + _CONSULTATIONS_ADDED, _CONSULTATIONS_ANCHOR)
        op.execute("ALTER TABLE reviews DROP COLUMN course")
        op.execute("ALTER TABLE consultations DROP COLUMN reported_course")
        op.execute("ALTER TABLE consultations DROP COLUMN follow_up_of_id")
        return
    op.drop_constraint(op.f("ck_reviews_course"), "reviews", type_="check")
    op.drop_constraint(op.f("ck_consultations_reported_course"), "consultations", type_="check")
    op.drop_constraint(op.f("fk_consultations_follow_up_of_id_consultations"), "consultations", type_="foreignkey")
    op.drop_column("reviews", "course")
    op.drop_column("consultations", "reported_course")
    op.drop_column("consultations", "follow_up_of_id")
