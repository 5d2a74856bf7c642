"""Subscription scopes (issue 17): each subscription's scope and pseudonym salt, each
delivery's `holder_ref`, and the scopes admins grant integrator accounts.

Subscriptions made before scopes existed have none and would receive nothing: they are
disabled here, with a reason their owner sees, and their pending deliveries cancelled. Their
owners create new ones once an admin has granted their account a scope.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from shared.db.tables import UTCDateTime
from shared.time import utcnow

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UNSCOPED = (
    "Created before subscriptions had scopes (docs/integrators.md); create a new one, "
    "once an admin has granted this account a scope."
)


def upgrade() -> None:
    op.add_column("webhook_subscriptions", sa.Column("scope_kind", sa.String(16), nullable=True))
    op.add_column("webhook_subscriptions", sa.Column("scope_value", sa.String(32), nullable=True))
    op.add_column(
        "webhook_subscriptions", sa.Column("pseudonym_salt", sa.String(64), nullable=True)
    )
    op.add_column("webhook_deliveries", sa.Column("holder_ref", sa.String(64), nullable=True))
    op.create_table(
        "integrator_scopes",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_integrator_scopes"),
    )
    _disable_unscoped()


def _disable_unscoped() -> None:
    subscriptions = sa.table(
        "webhook_subscriptions",
        sa.column("subscription_id", sa.String),
        sa.column("status", sa.String),
        sa.column("scope_kind", sa.String),
        sa.column("disabled_at", UTCDateTime()),
        sa.column("disabled_reason", sa.Text),
    )
    deliveries = sa.table(
        "webhook_deliveries",
        sa.column("subscription_id", sa.String),
        sa.column("status", sa.String),
        sa.column("last_error", sa.Text),
        sa.column("next_attempt_at", UTCDateTime()),
    )
    unscoped = sa.select(subscriptions.c.subscription_id).where(
        subscriptions.c.scope_kind.is_(None)
    )
    op.execute(
        deliveries.update()
        .where(deliveries.c.status == "pending", deliveries.c.subscription_id.in_(unscoped))
        .values(status="cancelled", last_error="subscription disabled", next_attempt_at=None)
    )
    op.execute(
        subscriptions.update()
        .where(subscriptions.c.status == "active", subscriptions.c.scope_kind.is_(None))
        .values(status="disabled", disabled_at=utcnow(), disabled_reason=UNSCOPED)
    )


def downgrade() -> None:
    op.drop_table("integrator_scopes")
    op.drop_column("webhook_deliveries", "holder_ref")
    op.drop_column("webhook_subscriptions", "pseudonym_salt")
    op.drop_column("webhook_subscriptions", "scope_value")
    op.drop_column("webhook_subscriptions", "scope_kind")
