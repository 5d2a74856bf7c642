"""Phone codes, per-address limits, and identities confirmed at registration: the ID number is
no longer unique among accounts (a plain index stays), and accounts record when the registry
confirmed their name + ID number and when their phone was proven. Existing rows keep NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from shared.db.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_accounts_id_number_index", type_="unique")
        batch_op.add_column(sa.Column("identity_confirmed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("phone_proven_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_accounts_id_number_index", ["id_number_index"])
    op.create_table(
        "phone_codes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('register', 'reset_password')",
            name=op.f("ck_phone_codes_known_purpose"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_codes")),
    )
    op.create_index("ix_phone_codes_expires_at", "phone_codes", ["expires_at"])
    op.create_index("ix_phone_codes_phone_created_at", "phone_codes", ["phone", "created_at"])
    op.create_table(
        "address_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_attempts")),
    )
    op.create_index("ix_address_attempts_attempted_at", "address_attempts", ["attempted_at"])
    op.create_index(
        "ix_address_attempts_key_action_at",
        "address_attempts",
        ["address_key", "action", "attempted_at"],
    )


def downgrade() -> None:
    # Fails while two accounts share an ID number, as it must: the unique index cannot return
    # without deciding whose account goes.
    op.drop_index("ix_address_attempts_key_action_at", table_name="address_attempts")
    op.drop_index("ix_address_attempts_attempted_at", table_name="address_attempts")
    op.drop_table("address_attempts")
    op.drop_index("ix_phone_codes_phone_created_at", table_name="phone_codes")
    op.drop_index("ix_phone_codes_expires_at", table_name="phone_codes")
    op.drop_table("phone_codes")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_id_number_index")
        batch_op.drop_column("phone_proven_at")
        batch_op.drop_column("identity_confirmed_at")
        batch_op.create_unique_constraint("uq_accounts_id_number_index", ["id_number_index"])
