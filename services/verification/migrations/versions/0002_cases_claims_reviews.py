"""Verification cases and their checks, identity claims (one person, one card), the review
audit, and face analyses by image digest.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "face_analyses",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("analyser", sa.String(length=40), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "analyser", name=op.f("pk_face_analyses")),
    )
    op.create_table(
        "identity_claims",
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", shared.db.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_identity_claims")),
        sa.UniqueConstraint("application_id", name=op.f("uq_identity_claims_application_id")),
    )
    with op.batch_alter_table("identity_claims", schema=None) as batch_op:
        batch_op.create_index(
            "uq_identity_claims_active_person",
            ["id_number_index"],
            unique=True,
            postgresql_where=sa.text("active"),
            sqlite_where=sa.text("active"),
        )

    op.create_table(
        "review_audit",
        sa.Column("audit_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_roles", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_review_audit")),
    )
    with op.batch_alter_table("review_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_audit_case_id"), ["case_id"], unique=False)

    op.create_table(
        "verification_cases",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("acceptance_number", sa.String(length=40), nullable=True),
        sa.Column("outlet_id", sa.String(length=36), nullable=True),
        sa.Column("bank_code", sa.String(length=40), nullable=True),
        sa.Column("applicant_name", sa.String(length=120), nullable=True),
        sa.Column("applicant_gender", sa.String(length=10), nullable=True),
        sa.Column("applicant_birth_date", sa.String(length=10), nullable=True),
        sa.Column("id_number_encrypted", sa.Text(), nullable=True),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("id_number_masked", sa.String(length=18), nullable=True),
        sa.Column("files", sa.JSON(), nullable=True),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", shared.db.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_at", shared.db.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_verification_cases")),
        sa.UniqueConstraint("application_id", name=op.f("uq_verification_cases_application_id")),
    )
    with op.batch_alter_table("verification_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_cases_id_number_index"), ["id_number_index"], unique=False
        )
        batch_op.create_index(
            "ix_verification_cases_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "case_checks",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("check", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("recorded_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["verification_cases.case_id"],
            name=op.f("fk_case_checks_case_id_verification_cases"),
        ),
        sa.PrimaryKeyConstraint("case_id", "check", name=op.f("pk_case_checks")),
    )


def downgrade() -> None:
    op.drop_table("case_checks")
    with op.batch_alter_table("verification_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_cases_status_created")
        batch_op.drop_index(batch_op.f("ix_verification_cases_id_number_index"))

    op.drop_table("verification_cases")
    with op.batch_alter_table("review_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_audit_case_id"))

    op.drop_table("review_audit")
    with op.batch_alter_table("identity_claims", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_identity_claims_active_person",
            postgresql_where=sa.text("active"),
            sqlite_where=sa.text("active"),
        )

    op.drop_table("identity_claims")
    op.drop_table("face_analyses")
