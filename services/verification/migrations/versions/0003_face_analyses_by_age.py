"""Face analyses indexed by when they were made: the worker finds those past the retention
by it and deletes them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("face_analyses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_face_analyses_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("face_analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_analyses_created_at"))
