"""Notifications: one message to one account on one channel for one event."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notification.dao import insert_ignoring_duplicates
from services.notification.domain.statuses import NotificationStatus
from services.notification.models import Notification
from shared.db.engine import is_postgresql
from shared.db.tables import new_id
from shared.time import utcnow


def dao_queue_notifications(session: Session, rows: Sequence[dict]) -> None:
    """At most one notification per (event, channel): the unique key decides, not the caller.
    A row may set its own `status`, `sent_at` and `next_attempt_at` (one already delivered)."""
    now = utcnow()
    insert_ignoring_duplicates(
        session,
        Notification,
        [
            {
                "notification_id": new_id(),
                "status": NotificationStatus.QUEUED,
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
        .where(
            Notification.status == NotificationStatus.QUEUED, Notification.next_attempt_at <= now
        )
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
