"""Webhook deliveries (one event for one subscription), the events they carry, and every
attempt at one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, and_, func, select, update
from sqlalchemy.orm import Session

from services.notification.dao import insert_ignoring_duplicates
from services.notification.domain.statuses import DeliveryStatus, SubscriptionStatus
from services.notification.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from shared.db.engine import is_postgresql
from shared.db.tables import new_id
from shared.time import utcnow


def dao_queue_webhook_deliveries(
    session: Session,
    *,
    event_id: str,
    event_type: str,
    payload: str,
    recipients: Mapping[str, str | None],
) -> None:
    """`recipients`: subscription id → the `holder_ref` its delivery carries (or None)."""
    if not recipients:
        return
    now = utcnow()
    insert_ignoring_duplicates(
        session,
        WebhookEvent,
        [{"event_id": event_id, "event_type": event_type, "payload": payload, "created_at": now}],
    )
    insert_ignoring_duplicates(
        session,
        WebhookDelivery,
        [
            {
                "delivery_id": new_id(),
                "subscription_id": subscription_id,
                "event_id": event_id,
                "event_type": event_type,
                "holder_ref": holder_ref,
                "status": DeliveryStatus.PENDING,
                "attempt_count": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription_id, holder_ref in recipients.items()
        ],
    )


def dao_cancel_pending_deliveries(session: Session, subscription_id: str, reason: str) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.CANCELLED, last_error=reason, next_attempt_at=None)
    )


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def dao_list_deliveries(
    session: Session, subscription_id: str, *, status: str | None, limit: int
) -> list[DeliveryView]:
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    deliveries = list(
        session.scalars(
            query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.delivery_id).limit(
                limit
            )
        )
    )
    attempts: dict[str, list[WebhookAttempt]] = {d.delivery_id: [] for d in deliveries}
    if deliveries:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.number)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [DeliveryView(d, attempts[d.delivery_id]) for d in deliveries]


@dataclass(frozen=True)
class ClaimedDelivery:
    delivery_id: str
    subscription_id: str
    event_id: str
    attempt_number: int
    url: str
    secret_encrypted: str
    payload: str
    holder_ref: str | None = None


# Long because it is one query with its per-subscription cap, and the lease written back.
def dao_claim_due_deliveries(
    session: Session,
    now: datetime,
    *,
    limit: int,
    max_per_subscription: int,
    in_flight: Mapping[str, int],
    lease: timedelta,
) -> list[ClaimedDelivery]:
    """Pending deliveries due by `now` whose subscription is active, oldest first, no more for
    one subscription than its free slots (`max_per_subscription` less what is in flight), so
    a receiver that hangs can hold only its own slots; locked against other dispatchers (SKIP
    LOCKED on PostgreSQL) and leased to this one until `now + lease`."""
    query = (
        select(
            WebhookDelivery.delivery_id,
            WebhookDelivery.subscription_id,
            WebhookDelivery.event_id,
            WebhookDelivery.attempt_count,
            WebhookSubscription.url,
            WebhookSubscription.secret_encrypted,
            WebhookEvent.payload,
            WebhookDelivery.holder_ref,
        )
        .join(
            WebhookSubscription,
            and_(
                WebhookSubscription.subscription_id == WebhookDelivery.subscription_id,
                WebhookSubscription.status == SubscriptionStatus.ACTIVE,
            ),
        )
        .join(WebhookEvent, WebhookEvent.event_id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    full = [sid for sid, count in in_flight.items() if count >= max_per_subscription]
    if full:
        query = query.where(WebhookDelivery.subscription_id.not_in(full))
    if is_postgresql(session):
        query = query.with_for_update(of=WebhookDelivery.__table__, skip_locked=True)
    taken: dict[str, int] = {}
    claimed: list[ClaimedDelivery] = []
    for row in session.execute(query):
        sid = row.subscription_id
        if in_flight.get(sid, 0) + taken.get(sid, 0) >= max_per_subscription:
            continue
        taken[sid] = taken.get(sid, 0) + 1
        claimed.append(
            ClaimedDelivery(
                delivery_id=row.delivery_id,
                subscription_id=sid,
                event_id=row.event_id,
                attempt_number=row.attempt_count + 1,
                url=row.url,
                secret_encrypted=row.secret_encrypted,
                payload=row.payload,
                holder_ref=row.holder_ref,
            )
        )
    if claimed:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.delivery_id.in_([c.delivery_id for c in claimed]))
            .values(next_attempt_at=now + lease)
        )
    return claimed


def dao_delivery_states(session: Session, delivery_ids: Iterable[str]) -> dict[str, Row]:
    ids = list(delivery_ids)
    if not ids:
        return {}
    table = WebhookDelivery.__table__
    rows = session.execute(
        select(
            table.c.delivery_id, table.c.subscription_id, table.c.status, table.c.created_at
        ).where(table.c.delivery_id.in_(ids))
    )
    return {row.delivery_id: row for row in rows}


def dao_update_deliveries(
    session: Session, changes: Sequence[dict], *, only_pending: bool = False
) -> None:
    """Each change: `delivery_id` and the new `status`, `attempt_count`, `last_status_code`,
    `last_error`, `next_attempt_at`, `delivered_at`. Changes that set the same values (a batch
    of successes) become one `UPDATE … WHERE delivery_id IN (…)`."""
    table = WebhookDelivery.__table__
    groups: dict[tuple, list[str]] = {}
    for change in changes:
        values = tuple(sorted((k, v) for k, v in change.items() if k != "delivery_id"))
        groups.setdefault(values, []).append(change["delivery_id"])
    for values, ids in groups.items():
        statement = update(table).where(table.c.delivery_id.in_(ids)).values(dict(values))
        if only_pending:
            statement = statement.where(table.c.status == DeliveryStatus.PENDING)
        session.execute(statement)


def dao_add_attempts(session: Session, rows: Sequence[dict]) -> None:
    if rows:
        session.execute(
            WebhookAttempt.__table__.insert(), [{"attempt_id": new_id(), **r} for r in rows]
        )


def dao_count_pending_deliveries(session: Session) -> int:
    return session.execute(
        select(func.count()).where(WebhookDelivery.status == DeliveryStatus.PENDING)
    ).scalar_one()
