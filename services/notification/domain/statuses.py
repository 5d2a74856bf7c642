"""The states the notification service's records move through, spelled once."""

from __future__ import annotations

from enum import StrEnum


class NotificationStatus(StrEnum):
    """A message to a citizen (or a staff owner) on one channel."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    """One event for one webhook subscription."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SubscriptionStatus(StrEnum):
    """A webhook subscription: `deleted` ones are kept for their history, and hidden."""

    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class BindingSource(StrEnum):
    """Where a channel binding's address came from: the phone an account registered with, or
    the citizen's own choice (which a registration phone never overwrites)."""

    ACCOUNT = "account"
    CITIZEN = "citizen"
