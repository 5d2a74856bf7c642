"""Account states: disabled staff, locked citizens, proven identities, revoked tokens; and the
ID number no longer unique among accounts.

Revision 0003 (phone codes, confirmed identities) is made beside this one; until the two are
chained at the merge this revises 0002. Revision 0003 also turns the unique constraint on
`id_number_index` into a plain index; this one does the same only when it is still there, so
it runs after either.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("identity_proven_at", UTCDateTime()),
    ("disabled_at", UTCDateTime()),
    ("locked_at", UTCDateTime()),
    ("lock_reason", sa.String(length=64)),
    ("tokens_revoked_at", UTCDateTime()),
)
ID_NUMBER_UNIQUE = "uq_accounts_id_number_index"
ID_NUMBER_INDEX = "ix_accounts_id_number_index"
REVOKED_INDEX = "ix_accounts_tokens_revoked_at"
REVOKED_WHERE = sa.text("tokens_revoked_at IS NOT NULL")


def _inspector():
    return sa.inspect(op.get_bind())


def upgrade() -> None:
    inspector = _inspector()
    unique = {constraint["name"] for constraint in inspector.get_unique_constraints("accounts")}
    indexes = {index["name"] for index in inspector.get_indexes("accounts")}
    with op.batch_alter_table("accounts") as batch:
        for name, kind in NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        if ID_NUMBER_UNIQUE in unique:
            batch.drop_constraint(ID_NUMBER_UNIQUE, type_="unique")
    if ID_NUMBER_INDEX not in indexes:
        op.create_index(ID_NUMBER_INDEX, "accounts", ["id_number_index"])
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
