"""Account states: disabled staff, locked citizens, proven identities, revoked tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from shared.db.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("identity_proven_at", UTCDateTime()),
    ("disabled_at", UTCDateTime()),
    ("locked_at", UTCDateTime()),
    ("lock_reason", sa.String(length=64)),
    ("tokens_revoked_at", UTCDateTime()),
)
REVOKED_INDEX = "ix_accounts_tokens_revoked_at"
REVOKED_WHERE = sa.text("tokens_revoked_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        for name, kind in NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_index(
        REVOKED_INDEX,
        "accounts",
        ["tokens_revoked_at"],
        postgresql_where=REVOKED_WHERE,
        sqlite_where=REVOKED_WHERE,
    )


def downgrade() -> None:
    op.drop_index(REVOKED_INDEX, table_name="accounts")
    with op.batch_alter_table("accounts") as batch:
        for name, _kind in reversed(NEW_COLUMNS):
            batch.drop_column(name)
