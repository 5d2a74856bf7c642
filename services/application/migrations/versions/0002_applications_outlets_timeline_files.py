"""Applications, the outlet read model, the progress timeline, stored files, rate limits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:30:49.223935
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
        "applications",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("bank_code", sa.String(length=32), nullable=False),
        sa.Column("acceptance_number", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("ethnicity", sa.String(length=50), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("id_number_encrypted", sa.Text(), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("person_status", sa.String(length=16), nullable=False),
        sa.Column("open_person_key", sa.String(length=64), nullable=True),
        sa.Column("photo_source", sa.String(length=16), nullable=True),
        sa.Column("card_id", sa.String(length=36), nullable=True),
        sa.Column("card_serial", sa.String(length=64), nullable=True),
        sa.Column("card_reported_at", shared.db.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejection_reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", shared.db.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("view", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_applications")),
        sa.UniqueConstraint("acceptance_number", name=op.f("uq_applications_acceptance_number")),
        sa.UniqueConstraint("open_person_key", name=op.f("uq_applications_open_person_key")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_applications_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_id_number_index"), ["id_number_index"], unique=False
        )

    op.create_table(
        "outlets",
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("bank_code", sa.String(length=32), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", name=op.f("pk_outlets")),
    )
    op.create_table(
        "rate_limit_windows",
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("window_start", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_limit_windows")),
    )
    with op.batch_alter_table("rate_limit_windows", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limit_windows_window_start", ["window_start"], unique=False)

    op.create_table(
        "stored_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_stored_files")),
    )
    op.create_table(
        "application_documents",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("uploaded_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.application_id"],
            name=op.f("fk_application_documents_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["stored_files.sha256"],
            name=op.f("fk_application_documents_sha256_stored_files"),
        ),
        sa.PrimaryKeyConstraint("application_id", "kind", name=op.f("pk_application_documents")),
    )
    op.create_table(
        "timeline_entries",
        sa.Column("entry_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.application_id"],
            name=op.f("fk_timeline_entries_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_timeline_entries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_timeline_entries_event_id")),
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timeline_entries_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_entries_application_id"))

    op.drop_table("timeline_entries")
    op.drop_table("application_documents")
    op.drop_table("stored_files")
    with op.batch_alter_table("rate_limit_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limit_windows_window_start")

    op.drop_table("rate_limit_windows")
    op.drop_table("outlets")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_id_number_index"))
        batch_op.drop_index(batch_op.f("ix_applications_account_id"))

    op.drop_table("applications")
