"""The inbox: which events a consumer has already processed, written in the same transaction
as the handler's own changes, so a redelivered event is recognised and changes nothing."""

from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from shared.db import utcnow


class Inbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    def seen(self, session: Session, consumer: str, event_id: str) -> bool:
        query = select(self.table.c.event_id).where(
            self.table.c.consumer == consumer, self.table.c.event_id == event_id
        )
        return session.execute(query).first() is not None

    def record(self, session: Session, consumer: str, event_id: str, event_type: str) -> None:
        """Inserting the row is the claim: a concurrent second copy fails on the primary key
        at commit time, rolls back, and is then recognised as seen."""
        session.execute(
            self.table.insert().values(
                consumer=consumer, event_id=event_id, event_type=event_type, processed_at=utcnow()
            )
        )
