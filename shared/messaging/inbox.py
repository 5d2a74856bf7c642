"""The inbox: which events a consumer has already processed, written in the same transaction
as the handler's own changes, so a redelivered event is recognised and changes nothing."""

from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from shared.messaging.envelope import Event
from shared.time import utcnow


class Inbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    def seen(self, session: Session, consumer: str, event_id: str) -> bool:
        query = select(self.table.c.event_id).where(
            self.table.c.consumer == consumer, self.table.c.event_id == event_id
        )
        return session.execute(query).first() is not None

    def seen_among(self, session: Session, consumer: str, event_ids: list[str]) -> set[str]:
        """Which of these events this consumer has processed: one query for a whole batch."""
        if not event_ids:
            return set()
        query = select(self.table.c.event_id).where(
            self.table.c.consumer == consumer, self.table.c.event_id.in_(event_ids)
        )
        return set(session.execute(query).scalars())

    def record_many(self, session: Session, consumer: str, events: list[Event]) -> None:
        """Claims a batch of events at once. Inserting the rows is the claim: a concurrent
        copy of one of them fails on the primary key at commit time, rolls back, and is then
        recognised as seen."""
        if events:
            now = utcnow()
            session.execute(
                self.table.insert(),
                [
                    {
                        "consumer": consumer,
                        "event_id": event.id,
                        "event_type": event.type,
                        "correlation_id": event.correlationid,
                        "processed_at": now,
                    }
                    for event in events
                ],
            )
