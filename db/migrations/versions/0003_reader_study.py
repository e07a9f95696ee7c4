"""Reader study (issue 8): reader_studies, study_cases, study_readers, readings.

New tables only; nothing existing changes, so upgrade and downgrade are plain CREATE/DROP TABLE on
both backends (no batch copy of an existing table on SQLite).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_LABELS = "('psoriasis', 'seborrheic_dermatitis')"


def upgrade() -> None:
    op.create_table(
        "reader_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("washout_days", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('consultations', 'folder')", name=op.f("ck_reader_studies_source")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_reader_studies_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_studies")),
        sa.UniqueConstraint("name", name=op.f("uq_reader_studies_name")),
    )
    op.create_table(
        "study_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("truth", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("p_psoriasis", sa.Float(), nullable=False),
        sa.Column("overlay_png", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(f"truth IN {_LABELS}", name=op.f("ck_study_cases_truth")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["reader_studies.id"], name=op.f("fk_study_cases_study_id_reader_studies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_cases")),
        sa.UniqueConstraint("study_id", "position", name=op.f("uq_study_cases_study_id_position")),
    )
    op.create_table(
        "study_readers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("unaided_order", sa.JSON(), nullable=False),
        sa.Column("aided_order", sa.JSON(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["reader_studies.id"], name=op.f("fk_study_readers_study_id_reader_studies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_study_readers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_readers")),
        sa.UniqueConstraint("study_id", "user_id", name=op.f("uq_study_readers_study_id_user_id")),
    )
    op.create_table(
        "readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_reader_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("pass_number", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("diagnosis", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("confidence BETWEEN 1 AND 5", name=op.f("ck_readings_confidence")),
        sa.CheckConstraint(f"diagnosis IN {_LABELS}", name=op.f("ck_readings_diagnosis")),
        sa.CheckConstraint("pass_number IN (1, 2)", name=op.f("ck_readings_pass_number")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["study_cases.id"], name=op.f("fk_readings_case_id_study_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["study_reader_id"],
            ["study_readers.id"],
            name=op.f("fk_readings_study_reader_id_study_readers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
        sa.UniqueConstraint(
            "study_reader_id", "case_id", "pass_number", name=op.f("uq_readings_study_reader_id_case_id_pass_number")
        ),
    )


def downgrade() -> None:
    op.drop_table("readings")
    op.drop_table("study_readers")
    op.drop_table("study_cases")
    op.drop_table("reader_studies")
