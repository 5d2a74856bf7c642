"""Data access for the notification service: `dao_<verb>_<noun>()` functions, each working in
the caller's session and transaction (a request's or a consumer's unit of work, or one of the
dispatcher's short transactions)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.notification.models import (
    ApplicationRef,
    ChannelBinding,
    Contact,
    Notification,
    Outlet,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from shared.db import is_postgresql, new_id, utcnow

ACCOUNT_SOURCE = "account"
CITIZEN_SOURCE = "citizen"


def _insert_ignoring_duplicates(session: Session, model, rows: Sequence[dict]) -> None:
    """Rows that collide with a unique key are skipped: a redelivered event adds nothing."""
    if not rows:
        return
    dialect = postgresql if is_postgresql(session) else sqlite
    session.execute(dialect.insert(model.__table__).on_conflict_do_nothing(), list(rows))


# -- contacts and channel bindings -----------------------------------------------------------
def dao_save_contact(session: Session, account_id: str, phone: str) -> None:
    _insert_ignoring_duplicates(
        session, Contact, [{"account_id": account_id, "phone": phone, "registered_at": utcnow()}]
    )


def dao_bind_channel(
    session: Session, account_id: str, channel: str, address: str, locale: str | None, source: str
) -> None:
    """A citizen's own binding replaces whatever was there; the registration phone only fills
    an empty place, so a late or redelivered `account.registered` never undoes a choice."""
    binding = session.get(ChannelBinding, (account_id, channel))
    if binding is None:
        _insert_ignoring_duplicates(
            session,
            ChannelBinding,
            [
                {
                    "account_id": account_id,
                    "channel": channel,
                    "address": address,
                    "locale": locale or _account_locale(session, account_id),
                    "source": source,
                    "updated_at": utcnow(),
                }
            ],
        )
        if source == CITIZEN_SOURCE:
            # A registration phone inserted concurrently would have won the race above.
            session.execute(
                update(ChannelBinding)
                .where(ChannelBinding.account_id == account_id, ChannelBinding.channel == channel)
                .values(
                    address=address,
                    source=source,
                    updated_at=utcnow(),
                    **({"locale": locale} if locale else {}),
                )
            )
        return
    if source == ACCOUNT_SOURCE and binding.source == CITIZEN_SOURCE:
        return
    binding.address = address
    binding.source = source
    binding.updated_at = utcnow()
    if locale:
        binding.locale = locale


def _account_locale(session: Session, account_id: str) -> str:
    """A new binding speaks the language the person chose for their other channels."""
    chosen = session.execute(
        select(ChannelBinding.locale)
        .where(ChannelBinding.account_id == account_id, ChannelBinding.source == CITIZEN_SOURCE)
        .order_by(ChannelBinding.updated_at.desc())
        .limit(1)
    ).scalar()
    return chosen or "zh-CN"


def dao_get_bindings(session: Session, account_id: str) -> list[ChannelBinding]:
    return list(
        session.scalars(
            select(ChannelBinding)
            .where(ChannelBinding.account_id == account_id)
            .order_by(ChannelBinding.channel)
        )
    )


def dao_delete_binding(session: Session, account_id: str, channel: str) -> bool:
    result = session.execute(
        delete(ChannelBinding).where(
            ChannelBinding.account_id == account_id, ChannelBinding.channel == channel
        )
    )
    return result.rowcount > 0


def dao_get_addresses(
    session: Session, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    pairs = set(pairs)
    if not pairs:
        return {}
    accounts = {account for account, _ in pairs}
    rows = session.execute(
        select(ChannelBinding.account_id, ChannelBinding.channel, ChannelBinding.address).where(
            ChannelBinding.account_id.in_(accounts)
        )
    )
    return {(a, c): address for a, c, address in rows if (a, c) in pairs}


# -- read models -----------------------------------------------------------------------------
def dao_save_outlet(session: Session, data: dict, as_of: datetime) -> None:
    values = {
        "bank_code": data["bank_code"],
        "bank_name": data["bank_name"],
        "name": data["name"],
        "district": data["district"],
        "address": data["address"],
        "active": bool(data["active"]),
        "as_of": as_of,
    }
    outlet_id = str(data["outlet_id"])
    _insert_ignoring_duplicates(session, Outlet, [{"outlet_id": outlet_id, **values}])
    session.execute(
        update(Outlet).where(Outlet.outlet_id == outlet_id, Outlet.as_of <= as_of).values(**values)
    )


def dao_get_outlet(session: Session, outlet_id: str | None) -> Outlet | None:
    return session.get(Outlet, str(outlet_id)) if outlet_id else None


def dao_save_application(session: Session, data: dict) -> None:
    _insert_ignoring_duplicates(
        session,
        ApplicationRef,
        [
            {
                "application_id": str(data["application_id"]),
                "account_id": str(data["account_id"]),
                "acceptance_number": data["acceptance_number"],
                "outlet_id": str(data["outlet_id"]) if data.get("outlet_id") else None,
                "bank_code": data.get("bank_code"),
            }
        ],
    )


def dao_get_application(session: Session, application_id: str | None) -> ApplicationRef | None:
    return session.get(ApplicationRef, str(application_id)) if application_id else None


# -- notifications ---------------------------------------------------------------------------
def dao_queue_notifications(session: Session, rows: Sequence[dict]) -> None:
    """At most one notification per (event, channel): the unique key decides, not the caller."""
    now = utcnow()
    _insert_ignoring_duplicates(
        session,
        Notification,
        [
            {
                "notification_id": new_id(),
                "status": "queued",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "sent_at": None,
                **row,
            }
            for row in rows
        ],
    )


def dao_list_notifications(session: Session, account_id: str, limit: int) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.account_id == account_id)
            .order_by(Notification.created_at.desc(), Notification.channel)
            .limit(limit)
        )
    )


def dao_claim_due_notifications(
    session: Session,
    now: datetime,
    *,
    limit: int,
    max_per_channel: int,
    in_flight: Mapping[str, int],
    lease: timedelta,
) -> list[Notification]:
    """Queued notifications due by `now`, oldest first, no more per channel than its free
    slots (`max_per_channel` less what is in flight); locked against other dispatchers (SKIP
    LOCKED on PostgreSQL) and leased to this one until `now + lease`."""
    query = (
        select(Notification)
        .where(Notification.status == "queued", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at)
        .limit(limit)
    )
    full = [channel for channel, count in in_flight.items() if count >= max_per_channel]
    if full:
        query = query.where(Notification.channel.not_in(full))
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    taken: dict[str, int] = {}
    claimed = []
    for row in session.scalars(query):
        if in_flight.get(row.channel, 0) + taken.get(row.channel, 0) >= max_per_channel:
            continue
        taken[row.channel] = taken.get(row.channel, 0) + 1
        row.next_attempt_at = now + lease
        claimed.append(row)
    return claimed


# -- webhook subscriptions -------------------------------------------------------------------
def dao_create_subscription(
    session: Session, owner_id: str, url: str, event_types: list[str], secret_encrypted: str
) -> WebhookSubscription:
    subscription = WebhookSubscription(
        subscription_id=new_id(),
        owner_id=owner_id,
        url=url,
        event_types=json.dumps(event_types),
        secret_encrypted=secret_encrypted,
        status="active",
        created_at=utcnow(),
    )
    session.add(subscription)
    return subscription


def dao_get_subscription(session: Session, subscription_id: str) -> WebhookSubscription | None:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.status == "deleted":
        return None
    return subscription


def dao_list_subscriptions(session: Session, owner_id: str | None) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).where(WebhookSubscription.status != "deleted")
    if owner_id is not None:
        query = query.where(WebhookSubscription.owner_id == owner_id)
    return list(session.scalars(query.order_by(WebhookSubscription.created_at)))


def dao_delete_subscription(session: Session, subscription: WebhookSubscription) -> None:
    """Kept, marked deleted, so its history stays for audits; nothing more is sent."""
    subscription.status = "deleted"
    dao_cancel_pending_deliveries(session, subscription.subscription_id, "subscription deleted")


def dao_cancel_pending_deliveries(session: Session, subscription_id: str, reason: str) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == "pending",
        )
        .values(status="cancelled", last_error=reason, next_attempt_at=None)
    )


def dao_active_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(
        session.scalars(select(WebhookSubscription).where(WebhookSubscription.status == "active"))
    )


def subscription_patterns(subscription: WebhookSubscription) -> list[str]:
    return json.loads(subscription.event_types)


def dao_queue_webhook_deliveries(
    session: Session,
    *,
    event_id: str,
    event_type: str,
    payload: str,
    subscription_ids: Sequence[str],
) -> None:
    if not subscription_ids:
        return
    now = utcnow()
    _insert_ignoring_duplicates(
        session,
        WebhookEvent,
        [{"event_id": event_id, "event_type": event_type, "payload": payload, "created_at": now}],
    )
    _insert_ignoring_duplicates(
        session,
        WebhookDelivery,
        [
            {
                "delivery_id": new_id(),
                "subscription_id": subscription_id,
                "event_id": event_id,
                "event_type": event_type,
                "status": "pending",
                "attempt_count": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription_id in subscription_ids
        ],
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
        )
        .join(
            WebhookSubscription,
            and_(
                WebhookSubscription.subscription_id == WebhookDelivery.subscription_id,
                WebhookSubscription.status == "active",
            ),
        )
        .join(WebhookEvent, WebhookEvent.event_id == WebhookDelivery.event_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
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
            statement = statement.where(table.c.status == "pending")
        session.execute(statement)


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
    """`restart`: subscriptions that succeeded in this batch — their run of failures is now
    none, or begins at the failure after their last success. `start`: subscriptions that only
    failed — a run begins unless one is already running."""
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


def dao_add_attempts(session: Session, rows: Sequence[dict]) -> None:
    if rows:
        session.execute(
            WebhookAttempt.__table__.insert(), [{"attempt_id": new_id(), **r} for r in rows]
        )


def dao_count_pending_deliveries(session: Session) -> int:
    return session.execute(
        select(func.count()).where(WebhookDelivery.status == "pending")
    ).scalar_one()


def dao_get_notifications(
    session: Session, notification_ids: Iterable[str]
) -> dict[str, Notification]:
    ids = list(notification_ids)
    if not ids:
        return {}
    return {
        n.notification_id: n
        for n in session.scalars(select(Notification).where(Notification.notification_id.in_(ids)))
    }
