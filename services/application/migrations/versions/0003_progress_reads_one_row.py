"""The progress look-up reads one row: outlet name and address copied onto each application
(kept in step by `outlet.upserted`, which finds them by the new outlet_id index), and the
person's applications indexed newest first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outlet_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("outlet_address", sa.String(length=500), nullable=True))
        batch_op.drop_index(batch_op.f("ix_applications_id_number_index"))
        batch_op.create_index(
            "ix_applications_person_newest", ["id_number_index", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_applications_outlet_id"), ["outlet_id"], unique=False)
    # Correlated subqueries: the same statement on PostgreSQL and SQLite.
    op.execute(
        "UPDATE applications SET "
        "outlet_name = (SELECT name FROM outlets WHERE outlets.outlet_id = applications.outlet_id), "
        "outlet_address = "
        "(SELECT address FROM outlets WHERE outlets.outlet_id = applications.outlet_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_outlet_id"))
        batch_op.drop_index("ix_applications_person_newest")
        batch_op.create_index(
            batch_op.f("ix_applications_id_number_index"), ["id_number_index"], unique=False
        )
        batch_op.drop_column("outlet_address")
        batch_op.drop_column("outlet_name")
