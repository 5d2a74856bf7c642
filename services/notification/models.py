"""The tables the notification service owns, in its own database.

Read models fed by events (contacts, outlets, applications), the citizens' own channel
bindings, the notifications sent to them, and integrators' webhook subscriptions with every
delivery and every attempt.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.notification.domain.channels import DEFAULT_LOCALE
from services.notification.domain.scopes import Scope, stored_scope
from services.notification.domain.statuses import (
    DeliveryStatus,
    NotificationStatus,
    SubscriptionStatus,
)
from shared.db.tables import UTCDateTime, new_id, new_metadata
from shared.time import utcnow

metadata = new_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Contact(Base):
    """An account's phone, from `account.registered`: the sms address every citizen has."""

    __tablename__ = "contacts"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelBinding(Base):
    """Where a person is reached on one channel. `source` says who set it: `account` (the
    registration phone) never overwrites `citizen` (their own choice)."""

    __tablename__ = "channel_bindings"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(10), default=DEFAULT_LOCALE)
    source: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outlet(Base):
    """The printing service's outlets, as last published (`outlet.upserted`)."""

    __tablename__ = "outlets"

    outlet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_code: Mapped[str] = mapped_column(String(32))
    bank_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The time of the event this row reflects: an older event arriving late changes nothing.
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)


class ApplicationRef(Base):
    """What later events need from `application.submitted`: whose it is, its acceptance number
    and outlet."""

    __tablename__ = "applications"

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    acceptance_number: Mapped[str] = mapped_column(String(64))
    outlet_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    bank_code: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Notification(Base):
    """One message to one person on one channel. At most one per (event, channel), whatever is
    redelivered; the dispatcher moves it from `queued` to `sent` or `failed`."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", name="uq_notifications_event_id_channel"),
        Index("ix_notifications_account_created", "account_id", "created_at"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    notification_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    subscription_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[str] = mapped_column(Text)  # JSON list of glob patterns
    secret_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=SubscriptionStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Start of the current run of failures (no success since); cleared by any success.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Whose events it may receive (domain/scopes.py), fixed at creation; none: nothing.
    scope_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    scope_value: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Hex key of this subscription's pseudonyms of people (`holder_ref`); never shown.
    pseudonym_salt: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def scope(self) -> Scope | None:
        return stored_scope(self.scope_kind, self.scope_value)

    @property
    def patterns(self) -> list[str]:
        """The glob patterns over event types it asked for (`event_types`, decoded)."""
        return json.loads(self.event_types)


class IntegratorScope(Base):
    """The scope an admin granted an integrator account: what every subscription it creates
    may see (unless its token names a bank itself)."""

    __tablename__ = "integrator_scopes"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(32))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def scope(self) -> Scope | None:
        return stored_scope(self.kind, self.value)


class WebhookEvent(Base):
    """An event as subscribers see it (public fields only, personal data removed), stored once
    however many subscriptions it goes to."""

    __tablename__ = "webhook_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(120))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription; the dispatcher claims it when `next_attempt_at` is due."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "event_id", name="uq_webhook_deliveries_subscription_id_event_id"
        ),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    delivery_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_subscriptions.subscription_id"), index=True
    )
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.event_id"))
    event_type: Mapped[str] = mapped_column(String(120))
    # The subscription's pseudonym of the person the event is about, added to the payload.
    holder_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # pending → delivered | failed (gave up after the retry window) | cancelled
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookAttempt(Base):
    """Every try, successful or not: when, how long, what the receiver answered."""

    __tablename__ = "webhook_attempts"

    attempt_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.delivery_id"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
