"""Rejected applications leave a tombstone as cancelled ones do: `application_cancellations`
becomes `closed_applications`, with each row's outcome (those already there were cancelled).
An applicant's photo is deleted a retention after the card's activation: `photo` may be NULL,
`photo_deleted_at` says when, and the applicants still keeping a photo are indexed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEPT = sa.text("photo_deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "closed_applications",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("closed_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_closed_applications")),
    )
    op.execute(
        "INSERT INTO closed_applications (application_id, outcome, closed_at)"
        " SELECT application_id, 'cancelled', cancelled_at FROM application_cancellations"
    )
    op.drop_table("application_cancellations")

    with op.batch_alter_table("applicants", schema=None) as batch_op:
        batch_op.alter_column("photo", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.add_column(
            sa.Column(
                "photo_deleted_at", shared.db.tables.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_applicants_photo_kept",
            ["application_id"],
            unique=False,
            postgresql_where=_KEPT,
            sqlite_where=_KEPT,
        )


def downgrade() -> None:
    # The photos deleted stay deleted: an empty one stands for each.
    op.execute(
        sa.text("UPDATE applicants SET photo = :empty WHERE photo IS NULL").bindparams(
            sa.bindparam("empty", b"", type_=sa.LargeBinary)
        )
    )
    with op.batch_alter_table("applicants", schema=None) as batch_op:
        batch_op.drop_index("ix_applicants_photo_kept")
        batch_op.drop_column("photo_deleted_at")
        batch_op.alter_column("photo", existing_type=sa.LargeBinary(), nullable=False)

    op.create_table(
        "application_cancellations",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("cancelled_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_application_cancellations")),
    )
    # Rejected ones too: before this revision a tombstone is what keeps a late submission out.
    op.execute(
        "INSERT INTO application_cancellations (application_id, cancelled_at)"
        " SELECT application_id, closed_at FROM closed_applications"
    )
    op.drop_table("closed_applications")
