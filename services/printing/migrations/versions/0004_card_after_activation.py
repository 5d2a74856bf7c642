"""The card after activation: cards may be lost, replaced or cancelled. A replacement is a new
card of the same application, so `application_id` is unique only among first cards and among
live cards (one live card a person); cards name the card they replace and the one that
replaced them; history entries may name the outlet of a counter; the signed commands sent to
banks and their confirmations; the expiry notices sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db.tables

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRST = sa.text("replaces_card_id IS NULL")
_LIVE = sa.text("status NOT IN ('replaced', 'cancelled')")


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_constraint("uq_cards_application_id", type_="unique")
        batch_op.add_column(sa.Column("replaces_card_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("replaced_by_card_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_cards_replaces_card_id_cards"),
            "cards",
            ["replaces_card_id"],
            ["card_id"],
        )
        batch_op.create_index(
            batch_op.f("ix_cards_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cards_replaces_card_id"), ["replaces_card_id"], unique=False
        )
        batch_op.create_index(
            "uq_cards_first_card_of_application",
            ["application_id"],
            unique=True,
            postgresql_where=_FIRST,
            sqlite_where=_FIRST,
        )
        batch_op.create_index(
            "uq_cards_live_card_of_application",
            ["application_id"],
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        )
    with op.batch_alter_table("card_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outlet_id", sa.String(length=36), nullable=True))

    op.create_table(
        "bank_commands",
        sa.Column("command_id", sa.String(length=36), nullable=False),
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("bank_code", sa.String(length=16), nullable=False),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.Column("sent_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", shared.db.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.card_id"], name=op.f("fk_bank_commands_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_bank_commands")),
    )
    with op.batch_alter_table("bank_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_commands_card_id"), ["card_id"], unique=False)

    op.create_table(
        "expiry_notices",
        sa.Column("card_id", sa.String(length=36), nullable=False),
        sa.Column("days_ahead", sa.Integer(), nullable=False),
        sa.Column("notified_at", shared.db.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.card_id"], name=op.f("fk_expiry_notices_card_id_cards")
        ),
        sa.PrimaryKeyConstraint("card_id", "days_ahead", name=op.f("pk_expiry_notices")),
    )


def downgrade() -> None:
    op.drop_table("expiry_notices")
    with op.batch_alter_table("bank_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_commands_card_id"))
    op.drop_table("bank_commands")
    with op.batch_alter_table("card_history", schema=None) as batch_op:
        batch_op.drop_column("outlet_id")
    # Replacement cards have no place in the earlier schema (one card per application).
    op.execute(
        "DELETE FROM card_history WHERE card_id IN (SELECT card_id FROM cards WHERE replaces_card_id IS NOT NULL)"
    )
    op.execute(
        "DELETE FROM card_serials WHERE card_id IN (SELECT card_id FROM cards WHERE replaces_card_id IS NOT NULL)"
    )
    op.execute("DELETE FROM cards WHERE replaces_card_id IS NOT NULL")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index("uq_cards_live_card_of_application")
        batch_op.drop_index("uq_cards_first_card_of_application")
        batch_op.drop_index(batch_op.f("ix_cards_replaces_card_id"))
        batch_op.drop_index(batch_op.f("ix_cards_application_id"))
        batch_op.drop_constraint(batch_op.f("fk_cards_replaces_card_id_cards"), type_="foreignkey")
        batch_op.drop_column("replaced_by_card_id")
        batch_op.drop_column("replaces_card_id")
        batch_op.create_unique_constraint("uq_cards_application_id", ["application_id"])
