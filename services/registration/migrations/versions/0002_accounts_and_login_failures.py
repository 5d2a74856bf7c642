"""Accounts (citizens and staff) and the login failures that throttle guessing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from shared.db.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("bank_code", sa.String(length=32), nullable=True),
        sa.Column("id_number_encrypted", sa.Text(), nullable=True),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(role = 'bank_operator' AND bank_code IS NOT NULL) OR (role <> 'bank_operator' AND bank_code IS NULL)",
            name=op.f("ck_accounts_bank_operators_have_a_bank"),
        ),
        sa.CheckConstraint(
            "(role = 'citizen' AND id_number_index IS NOT NULL AND id_number_encrypted IS NOT NULL) OR (role <> 'citizen' AND id_number_index IS NULL AND id_number_encrypted IS NULL)",
            name=op.f("ck_accounts_citizens_have_an_id_number"),
        ),
        sa.CheckConstraint(
            "role IN ('citizen', 'reviewer', 'bank_operator', 'integrator', 'admin')",
            name=op.f("ck_accounts_known_role"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_accounts_id_number_index")),
        sa.UniqueConstraint("phone", name=op.f("uq_accounts_phone")),
    )
    op.create_table(
        "login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_failed_at", "login_failures", ["failed_at"])
    op.create_index("ix_login_failures_phone_failed_at", "login_failures", ["phone", "failed_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_phone_failed_at", table_name="login_failures")
    op.drop_index("ix_login_failures_failed_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("accounts")
