"""Integrators' webhook subscriptions: created with a checked URL and a Standard Webhooks
secret, seen only by their owner (or an admin), and one `pending` delivery queued per event a
subscription asked for.

An owner sees only their own subscriptions; another's is a NotFound, alike for one that does
not exist, so ids cannot be probed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.notification.dao.deliveries import (
    DeliveryView,
    dao_cancel_pending_deliveries,
    dao_list_deliveries,
    dao_queue_webhook_deliveries,
)
from services.notification.dao.subscriptions import (
    dao_active_subscriptions,
    dao_create_subscription,
    dao_get_subscription,
    dao_list_subscriptions,
)
from services.notification.deps import Dependencies
from services.notification.domain.statuses import SubscriptionStatus
from services.notification.domain.webhooks import (
    SECRET_COLUMN,
    new_secret,
    secret_key,
    subscribes_to,
    validate_event_patterns,
)
from services.notification.models import WebhookSubscription
from shared.errors import NotFound
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Caller:
    """Who asks: an owner, or an admin (who sees everyone's)."""

    subject: str
    is_admin: bool = False


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str  # in plain text, this once


def create_subscription(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    owner_id: str,
    url: str,
    event_types: list[str],
    secret: str | None,
) -> CreatedSubscription:
    """InvalidInput (422) for patterns no public event matches, a malformed secret, or a URL
    that may not be called; a secret is generated when none is given."""
    patterns = validate_event_patterns(event_types)
    secret = secret or new_secret()
    secret_key(secret)  # refuses a malformed one with a 422
    url = deps.guard.check_url(url)
    encrypted = deps.cipher.encrypt(secret, column=SECRET_COLUMN)
    subscription = dao_create_subscription(uow.session, owner_id, url, patterns, encrypted)
    return CreatedSubscription(subscription, secret)


def list_subscriptions(session: Session, *, caller: Caller) -> list[WebhookSubscription]:
    return dao_list_subscriptions(session, None if caller.is_admin else caller.subject)


def visible_subscription(
    session: Session, *, caller: Caller, subscription_id: str
) -> WebhookSubscription:
    try:
        uuid.UUID(subscription_id)
    except ValueError:
        raise NotFound("No such subscription.") from None
    subscription = dao_get_subscription(session, subscription_id)
    if subscription is None or (subscription.owner_id != caller.subject and not caller.is_admin):
        raise NotFound("No such subscription.")
    return subscription


def list_deliveries(
    session: Session, *, caller: Caller, subscription_id: str, status: str | None, limit: int
) -> list[DeliveryView]:
    """Newest first, each with every attempt."""
    subscription = visible_subscription(session, caller=caller, subscription_id=subscription_id)
    return dao_list_deliveries(session, subscription.subscription_id, status=status, limit=limit)


def delete_subscription(
    uow: UnitOfWork, deps: Dependencies, *, caller: Caller, subscription_id: str
) -> None:
    """Kept, marked deleted, so its history stays for audits; nothing more is sent."""
    subscription = visible_subscription(uow.session, caller=caller, subscription_id=subscription_id)
    subscription.status = SubscriptionStatus.DELETED
    dao_cancel_pending_deliveries(uow.session, subscription.subscription_id, "subscription deleted")


def queue_webhook_deliveries(
    uow: UnitOfWork, deps: Dependencies, *, event_id: str, event_type: str, payload: str
) -> None:
    """One pending delivery per active subscription that asked for this (public) type;
    `payload`: the event as integrators see it (domain.webhooks.public_payload)."""
    subscribers = [
        subscription.subscription_id
        for subscription in dao_active_subscriptions(uow.session)
        if subscribes_to(subscription.patterns, event_type)
    ]
    if subscribers:
        dao_queue_webhook_deliveries(
            uow.session,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            subscription_ids=subscribers,
        )
