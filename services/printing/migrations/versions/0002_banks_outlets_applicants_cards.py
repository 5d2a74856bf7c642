"""Banks, outlets, the applicants' data kept for printing, cards, their serials and history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Long because it creates every table of the service, in the order of their foreign keys.
def upgrade() -> None:
    op.create_table(
        "applicants",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("acceptance_number", sa.String(length=40), nullable=False),
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("bank_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("gender", sa.String(length=10), nullable=False),
        sa.Column("ethnicity", sa.String(length=40), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("id_number_encrypted", sa.Text(), nullable=False),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=False),
        sa.Column("photo_content_type", sa.String(length=40), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=False),
        sa.Column("submitted_event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_applicants")),
    )
    with op.batch_alter_table("applicants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applicants_account_id"), ["account_id"], unique=False)

    op.create_table(
        "application_cancellations",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("cancelled_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_application_cancellations")),
    )
    op.create_table(
        "banks",
        sa.Column("bank_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bank_code", name=op.f("pk_banks")),
    )
    op.create_table(
        "cards",
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("bank_code", sa.String(length=16), nullable=False),
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("card_serial", sa.String(length=9), nullable=False),
        sa.Column("card_identification_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("print_count", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("bank_account_masked", sa.String(length=19), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.bank_code"], name=op.f("fk_cards_bank_code_banks")
        ),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_cards")),
        sa.UniqueConstraint("application_id", name=op.f("uq_cards_application_id")),
        sa.UniqueConstraint(
            "card_identification_code", name=op.f("uq_cards_card_identification_code")
        ),
        sa.UniqueConstraint("card_serial", name=op.f("uq_cards_card_serial")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cards_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_bank_code"), ["bank_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_outlet_id"), ["outlet_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_status"), ["status"], unique=False)

    op.create_table(
        "outlets",
        sa.Column("outlet_id", sa.String(length=36), nullable=False),
        sa.Column("bank_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.bank_code"], name=op.f("fk_outlets_bank_code_banks")
        ),
        sa.PrimaryKeyConstraint("outlet_id", name=op.f("pk_outlets")),
    )
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outlets_bank_code"), ["bank_code"], unique=False)

    op.create_table(
        "card_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("card_serial", sa.String(length=9), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("occurred_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.card_id"], name=op.f("fk_card_history_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_history")),
    )
    with op.batch_alter_table("card_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_history_card_id"), ["card_id"], unique=False)

    op.create_table(
        "card_serials",
        sa.Column("card_serial", sa.String(length=9), nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("card_identification_code", sa.String(length=32), nullable=False),
        sa.Column("print_number", sa.Integer(), nullable=False),
        sa.Column("assigned_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.card_id"], name=op.f("fk_card_serials_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("card_serial", name=op.f("pk_card_serials")),
        sa.UniqueConstraint(
            "card_identification_code", name=op.f("uq_card_serials_card_identification_code")
        ),
    )
    with op.batch_alter_table("card_serials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_serials_card_id"), ["card_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("card_serials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_serials_card_id"))

    op.drop_table("card_serials")
    with op.batch_alter_table("card_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_history_card_id"))

    op.drop_table("card_history")
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlets_bank_code"))

    op.drop_table("outlets")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cards_status"))
        batch_op.drop_index(batch_op.f("ix_cards_outlet_id"))
        batch_op.drop_index(batch_op.f("ix_cards_bank_code"))
        batch_op.drop_index(batch_op.f("ix_cards_account_id"))

    op.drop_table("cards")
    op.drop_table("banks")
    op.drop_table("application_cancellations")
    with op.batch_alter_table("applicants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applicants_account_id"))

    op.drop_table("applicants")
