"""Initial schema: users, consultations, images, predictions, reviews, audit events, app settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 01:44:39.756867
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('dermatologist', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("access_code_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("max_p_psoriasis", sa.Float(), nullable=True),
        sa.Column("any_uncertain", sa.Boolean(), nullable=False),
        sa.Column("any_out_of_scope", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("duration", sa.String(length=32), nullable=True),
        sa.Column("itch", sa.String(length=16), nullable=True),
        sa.Column("previous_treatment", sa.String(length=200), nullable=True),
        sa.Column("scalp_site", sa.String(length=64), nullable=True),
        sa.Column("image_source", sa.String(length=16), nullable=False),
        sa.Column("free_text", sa.Text(), nullable=True),
        sa.Column("consent_version", sa.String(length=32), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.CheckConstraint("image_source IN ('phone', 'dermoscope')", name=op.f("ck_consultations_image_source")),
        sa.CheckConstraint(
            "status IN ('submitted', 'in_review', 'reviewed', 'closed')", name=op.f("ck_consultations_status")
        ),
        sa.ForeignKeyConstraint(["claimed_by_id"], ["users.id"], name=op.f("fk_consultations_claimed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
        sa.UniqueConstraint("access_code_hash", name=op.f("uq_consultations_access_code_hash")),
        sa.UniqueConstraint("public_id", name=op.f("uq_consultations_public_id")),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.create_index("ix_consultations_queue", ["status", "priority", "created_at"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"], ["consultations.id"], name=op.f("fk_audit_events_consultation_id_consultations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_consultation", ["consultation_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_created_at"), ["created_at"], unique=False)

    op.create_table(
        "consult_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("capture", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consult_images_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_images")),
        sa.UniqueConstraint("consultation_id", "position", name=op.f("uq_consult_images_consultation_id_position")),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("diagnosis", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("agrees_with_ai", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "diagnosis IN ('psoriasis', 'seborrheic_dermatitis', 'other', 'needs_in_person_visit')",
            name=op.f("ck_reviews_diagnosis"),
        ),
        sa.ForeignKeyConstraint(["clinician_id"], ["users.id"], name=op.f("fk_reviews_clinician_id_users")),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_reviews_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_consultation_id"), ["consultation_id"], unique=False)

    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("p_psoriasis", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("out_of_scope", sa.Boolean(), nullable=False),
        sa.Column("ood_score", sa.Float(), nullable=True),
        sa.Column("overlay_png", sa.LargeBinary(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["consult_images.id"], name=op.f("fk_predictions_image_id_consult_images"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        sa.UniqueConstraint("image_id", name=op.f("uq_predictions_image_id")),
    )


def downgrade() -> None:
    op.drop_table("predictions")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_consultation_id"))

    op.drop_table("reviews")
    op.drop_table("consult_images")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_created_at"))
        batch_op.drop_index("ix_audit_events_consultation")

    op.drop_table("audit_events")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index("ix_consultations_queue")

    op.drop_table("consultations")
    op.drop_table("users")
    op.drop_table("app_settings")
