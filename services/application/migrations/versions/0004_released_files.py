"""Released files: stored files that no document refers to any more since a draft's photo or ID
card image was replaced, waiting for the worker to delete them after the grace period.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.tables

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "released_files",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("released_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_released_files")),
    )


def downgrade() -> None:
    op.drop_table("released_files")
