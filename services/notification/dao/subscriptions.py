"""Integrators' webhook subscriptions: the URL, the event patterns, the encrypted secret, and
how long its deliveries have been failing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from services.notification.domain.scopes import Scope
from services.notification.domain.statuses import SubscriptionStatus
from services.notification.models import WebhookSubscription
from shared.db.tables import new_id
from shared.time import utcnow


def dao_create_subscription(
    session: Session,
    owner_id: str,
    url: str,
    event_types: list[str],
    secret_encrypted: str,
    *,
    scope: Scope,
    pseudonym_salt: str,
) -> WebhookSubscription:
    subscription = WebhookSubscription(
        subscription_id=new_id(),
        owner_id=owner_id,
        url=url,
        event_types=json.dumps(event_types),
        secret_encrypted=secret_encrypted,
        status=SubscriptionStatus.ACTIVE,
        created_at=utcnow(),
        scope_kind=scope.kind.value,
        scope_value=scope.value,
        pseudonym_salt=pseudonym_salt,
    )
    session.add(subscription)
    return subscription


def dao_get_subscription(session: Session, subscription_id: str) -> WebhookSubscription | None:
    """The subscription, unless there is none or it was deleted."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.status == SubscriptionStatus.DELETED:
        return None
    return subscription


def dao_list_subscriptions(session: Session, owner_id: str | None) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).where(
        WebhookSubscription.status != SubscriptionStatus.DELETED
    )
    if owner_id is not None:
        query = query.where(WebhookSubscription.owner_id == owner_id)
    return list(session.scalars(query.order_by(WebhookSubscription.created_at)))


def dao_active_subscriptions(
    session: Session, owner_id: str | None = None
) -> list[WebhookSubscription]:
    """Every active subscription, or one owner's."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.status == SubscriptionStatus.ACTIVE
    )
    if owner_id is not None:
        query = query.where(WebhookSubscription.owner_id == owner_id)
    return list(session.scalars(query))


def dao_subscription_states(session: Session, subscription_ids: Iterable[str]) -> dict[str, Row]:
    ids = list(set(subscription_ids))
    if not ids:
        return {}
    table = WebhookSubscription.__table__
    rows = session.execute(
        select(table.c.subscription_id, table.c.status, table.c.failing_since).where(
            table.c.subscription_id.in_(ids)
        )
    )
    return {row.subscription_id: row for row in rows}


def dao_track_failing_since(
    session: Session,
    *,
    restart: Mapping[str, datetime | None],
    start: Mapping[str, datetime],
) -> None:
    """`restart`: each subscription's run of failures is now none, or begins at the given
    time. `start`: a run begins at the given time unless one is already running."""
    table = WebhookSubscription.__table__
    cleared = [sid for sid, since in restart.items() if since is None]
    if cleared:
        session.execute(
            update(table)
            .where(table.c.subscription_id.in_(cleared), table.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    for sid, since in restart.items():
        if since is not None:
            session.execute(
                update(table).where(table.c.subscription_id == sid).values(failing_since=since)
            )
    if start:
        session.execute(
            update(table)
            .where(table.c.subscription_id == bindparam("b_id"), table.c.failing_since.is_(None))
            .values(failing_since=bindparam("b_since")),
            [{"b_id": sid, "b_since": since} for sid, since in start.items()],
        )
