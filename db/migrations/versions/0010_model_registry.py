"""Models as versions (issue 20): ``model_registry`` (one row per registered checkpoint, at most one active) and
``model_scores`` (what a registered model said about a stored photo: shadow runs and comparisons).

Two new tables only; no existing table changes, so existing rows are untouched on both backends. At most one
active model is a partial unique index on ``state`` (``WHERE state = 'active'``, supported by SQLite and
PostgreSQL). Downgrade drops both tables (the registry and its scores are lost; every prediction keeps the
version and sha256 it was made with).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "model_registry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("architecture", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('candidate', 'active', 'retired')", name=op.f("ck_model_registry_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_registry")),
        sa.UniqueConstraint("sha256", name=op.f("uq_model_registry_sha256")),
        sa.UniqueConstraint("version", name=op.f("uq_model_registry_version")),
    )
    op.create_index("uq_model_registry_one_active", "model_registry", ["state"], unique=True,
                    sqlite_where=sa.text("state = 'active'"), postgresql_where=sa.text("state = 'active'"))
    op.create_table(
        "model_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("p_psoriasis", sa.Float(), nullable=False),
        sa.Column("out_of_scope", sa.Boolean(), nullable=False),
        sa.Column("ood_score", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["consult_images.id"], name=op.f("fk_model_scores_image_id_consult_images"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["model_id"], ["model_registry.id"], name=op.f("fk_model_scores_model_id_model_registry"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_scores")),
        sa.UniqueConstraint("model_id", "image_id", name=op.f("uq_model_scores_model_id_image_id")),
    )
    op.create_index(op.f("ix_model_scores_image_id"), "model_scores", ["image_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_model_scores_image_id"), table_name="model_scores")
    op.drop_table("model_scores")
    op.drop_index("uq_model_registry_one_active", table_name="model_registry")
    op.drop_table("model_registry")
