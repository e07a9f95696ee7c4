"""Ask for more (issue 19, item 1): a dermatologist's request for more information and the patient's answer.

* ``consultations.status`` may be ``awaiting_patient`` (CHECK ``ck_consultations_status``);
* ``info_requests``: one row per request (round from 1, needs, message) with the answer (time, text);
* ``consult_images.request_id``: the request a photo answered (NULL for the photos sent at submit, i.e.
  every existing row), a plain ADD COLUMN on both backends (no copy of the images table).

Existing rows keep their status and photos. SQLite changes the CHECK in its stored schema, without copying
the table (see :func:`_sqlite_edit_schema`); PostgreSQL drops and creates the constraint.
Downgrade puts consultations that wait for a patient back in review and keeps answer photos as ordinary
photos of their consultation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_OLD = ("submitted", "in_review", "reviewed", "closed")
_NEW = ("submitted", "in_review", "reviewed", "closed", "awaiting_patient")
consultations = sa.table("consultations", sa.column("status", sa.String))
_SQLITE_UNIQUE = "CONSTRAINT uq_consult_images_consultation_id_position UNIQUE (consultation_id, position)"
_SQLITE_FK = (", \n\tCONSTRAINT fk_consult_images_request_id_info_requests FOREIGN KEY(request_id) "
              "REFERENCES info_requests (id) ON DELETE CASCADE")


def _status_check(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Allow exactly ``new`` in ``consultations.status``."""
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_edit_schema("consultations", _check_sql(old), _check_sql(new))
        return
    op.drop_constraint(op.f("ck_consultations_status"), "consultations", type_="check")
    op.create_check_constraint(op.f("ck_consultations_status"), "consultations",
                               "status IN (" + ", ".join(f"'{v}'" for v in new) + ")")


def _check_sql(values: tuple[str, ...]) -> str:
    return "CHECK (status IN (" + ", ".join(f"'{v}'" for v in values) + "))"


def _sqlite_edit_schema(table: str, old: str, new: str) -> None:
    """Change a CHECK or a FOREIGN KEY in SQLite's stored schema, the procedure SQLite documents for
    changes that leave the stored rows valid (https://www.sqlite.org/lang_altertable.html, "otheralter"):
    no table copy; the integrity and foreign-key checks run after it. A copy
    (Alembic's batch mode) would drop ``consultations`` or ``consult_images`` inside the migration's
    transaction, where foreign keys stay on, and their ON DELETE CASCADE would empty the child tables."""
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
    _status_check(_OLD, _NEW)
    op.create_table(
        "info_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultations.id"], ondelete="CASCADE",
                                name=op.f("fk_info_requests_consultation_id_consultations")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_info_requests_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_info_requests")),
        sa.UniqueConstraint("consultation_id", "round", name=op.f("uq_info_requests_consultation_id_round")),
    )
    op.create_index(op.f("ix_info_requests_consultation_id"), "info_requests", ["consultation_id"])
    if op.get_bind().dialect.name == "sqlite":  # a new column, NULL in every row, then its named foreign key
        op.execute("ALTER TABLE consult_images ADD COLUMN request_id INTEGER")
        _sqlite_edit_schema("consult_images", _SQLITE_UNIQUE, _SQLITE_UNIQUE + _SQLITE_FK)
    else:
        op.add_column("consult_images", sa.Column("request_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_consult_images_request_id_info_requests"), "consult_images", "info_requests",
                              ["request_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite drops a column only once no foreign key names it
        _sqlite_edit_schema("consult_images", _SQLITE_UNIQUE + _SQLITE_FK, _SQLITE_UNIQUE)
        op.execute("ALTER TABLE consult_images DROP COLUMN request_id")
    else:
        op.drop_constraint(op.f("fk_consult_images_request_id_info_requests"), "consult_images", type_="foreignkey")
        op.drop_column("consult_images", "request_id")
    op.drop_index(op.f("ix_info_requests_consultation_id"), table_name="info_requests")
    op.drop_table("info_requests")
    op.execute(consultations.update().where(consultations.c.status == "awaiting_patient").values(status="in_review"))
    _status_check(_NEW, _OLD)
