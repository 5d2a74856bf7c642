"""One open application per account, not per person, and an audit row for every view of the
photo on file.

`open_person_key` (the applicant's ID-number blind index, unique while the application is
open) let whoever registered a person's ID number first block that person's own application.
It is replaced by `open_account_key` (the account id, unique while open): every application
that was open gets its account's key. The uniqueness per person was a unique index, so no
account had two open applications; should one have (an account whose ID number was changed),
only its newest keeps the key, the older stays open without blocking anything.

`photo_views` records who was shown the identity registry's photo on file for which
application, and when.

Downgrading gives back the person's key to the newest open application of each person; an
older open application of the same person (possible once this revision is in) stays open
without it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.tables

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The newest of several open applications sharing `column`: no other open one with the same
# value is newer. Correlated subqueries: the same statement on PostgreSQL and SQLite.
_KEY_THE_NEWEST = (
    "UPDATE applications SET {key} = {column} WHERE {was_open} IS NOT NULL AND NOT EXISTS ("
    "SELECT 1 FROM applications AS newer WHERE newer.{column} = applications.{column}"
    " AND newer.{was_open} IS NOT NULL AND (newer.created_at > applications.created_at"
    " OR (newer.created_at = applications.created_at"
    " AND newer.application_id > applications.application_id)))"
)


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("open_account_key", sa.String(length=36), nullable=True))
    op.execute(
        _KEY_THE_NEWEST.format(
            key="open_account_key", column="account_id", was_open="open_person_key"
        )
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_applications_open_account_key"), ["open_account_key"]
        )
        batch_op.drop_constraint(batch_op.f("uq_applications_open_person_key"), type_="unique")
        batch_op.drop_column("open_person_key")
    op.create_table(
        "photo_views",
        sa.Column("view_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("viewed_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.application_id"],
            name=op.f("fk_photo_views_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("view_id", name=op.f("pk_photo_views")),
    )
    with op.batch_alter_table("photo_views", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_photo_views_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_photo_views_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_table("photo_views")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("open_person_key", sa.String(length=64), nullable=True))
    op.execute(
        _KEY_THE_NEWEST.format(
            key="open_person_key", column="id_number_index", was_open="open_account_key"
        )
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_applications_open_person_key"), ["open_person_key"]
        )
        batch_op.drop_constraint(batch_op.f("uq_applications_open_account_key"), type_="unique")
        batch_op.drop_column("open_account_key")
