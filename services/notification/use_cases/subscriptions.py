"""Integrators' webhook subscriptions: created with a checked URL, a Standard Webhooks secret
and the creator's scope, seen only by their owner (or an admin), and one `pending` delivery
queued per event a subscription asked for and its scope covers.

An owner sees only their own subscriptions; another's is a NotFound, alike for one that does
not exist, so ids cannot be probed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.notification.dao.contacts import dao_bound_channels
from services.notification.dao.deliveries import (
    DeliveryView,
    dao_cancel_pending_deliveries,
    dao_list_deliveries,
    dao_queue_webhook_deliveries,
)
from services.notification.dao.read_models import dao_get_application
from services.notification.dao.scopes import dao_get_granted_scope
from services.notification.dao.subscriptions import (
    dao_active_subscriptions,
    dao_create_subscription,
    dao_get_subscription,
    dao_list_subscriptions,
)
from services.notification.deps import Dependencies
from services.notification.domain.payloads import (
    PERSON_EVENT_TYPES,
    holder_ref,
    new_pseudonym_salt,
)
from services.notification.domain.scopes import (
    EventFacts,
    Scope,
    ScopeKind,
    in_scope,
    subscription_scope,
)
from services.notification.domain.statuses import SubscriptionStatus
from services.notification.domain.webhooks import (
    SECRET_COLUMN,
    new_secret,
    secret_key,
    subscribes_to,
    validate_event_patterns,
)
from services.notification.models import WebhookSubscription
from shared.db.uow import UnitOfWork
from shared.errors import NotFound


@dataclass(frozen=True)
class Caller:
    """Who asks: an owner, or an admin (who sees everyone's)."""

    subject: str
    is_admin: bool = False
    bank_code: str | None = None  # the token's `bank_code` claim


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str  # in plain text, this once


def create_subscription(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    caller: Caller,
    url: str,
    event_types: list[str],
    secret: str | None,
    scope: Scope | None = None,
) -> CreatedSubscription:
    """Owned by the caller, within the caller's scope (domain.scopes.subscription_scope:
    Forbidden without one). InvalidInput (422) for patterns no public event matches, a
    malformed secret, or a URL that may not be called; a secret is generated when none is
    given. `scope`: the one asked for (only an admin without a scope of their own may choose)."""
    granted = dao_get_granted_scope(uow.session, caller.subject)
    scope = subscription_scope(
        token_bank_code=caller.bank_code,
        granted=granted.scope if granted else None,
        requested=scope,
        is_admin=caller.is_admin,
    )
    patterns = validate_event_patterns(event_types)
    secret = secret or new_secret()
    secret_key(secret)  # refuses a malformed one with a 422
    url = deps.guard.check_url(url)
    encrypted = deps.cipher.encrypt(secret, column=SECRET_COLUMN)
    subscription = dao_create_subscription(
        uow.session,
        caller.subject,
        url,
        patterns,
        encrypted,
        scope=scope,
        pseudonym_salt=new_pseudonym_salt(),
    )
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
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    event_id: str,
    event_type: str,
    payload: str,
    account_id: str | None,
    bank_code: str | None,
    application_id: str | None,
) -> None:
    """One pending delivery per active subscription that asked for this (public) type and
    whose scope covers the event (domain.scopes.in_scope), carrying that subscription's
    `holder_ref` of the person the event is about. `payload`: the event as integrators see
    it (domain.webhooks.public_payload); `account_id`, `bank_code`, `application_id`: the
    event's own, to decide whose it is (an application's bank comes from its submission)."""
    wanted = [
        subscription
        for subscription in dao_active_subscriptions(uow.session)
        if subscribes_to(subscription.patterns, event_type)
    ]
    if not wanted:
        return
    facts = _event_facts(uow, event_type, account_id, bank_code, application_id, wanted)
    recipients = {
        subscription.subscription_id: _holder_ref(subscription, event_type, account_id)
        for subscription in wanted
        if in_scope(subscription.scope, facts)
    }
    dao_queue_webhook_deliveries(
        uow.session,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        recipients=recipients,
    )


def _event_facts(
    uow: UnitOfWork,
    event_type: str,
    account_id: str | None,
    bank_code: str | None,
    application_id: str | None,
    subscriptions: list[WebhookSubscription],
) -> EventFacts:
    """What the scopes of `subscriptions` need to know, looked up only when one needs it."""
    kinds = {s.scope.kind for s in subscriptions if s.scope is not None}
    if bank_code is None and application_id and ScopeKind.BANK in kinds:
        application = dao_get_application(uow.session, application_id)
        bank_code = application.bank_code if application else None
    channels: frozenset[str] = frozenset()
    if account_id and ScopeKind.CHANNEL in kinds:
        channels = dao_bound_channels(uow.session, account_id)
    return EventFacts(event_type, bank_code, account_id, channels)


def _holder_ref(
    subscription: WebhookSubscription, event_type: str, account_id: str | None
) -> str | None:
    if account_id is None or event_type not in PERSON_EVENT_TYPES:
        return None
    return holder_ref(subscription.pseudonym_salt, account_id)
