"""The transactional outbox: events are rows written in the caller's transaction, published
later by the relay. A rolled-back transaction leaves no row, so it can never publish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from shared.messaging.envelope import Event
from shared.messaging.events import contract_for
from shared.messaging.publisher import OutgoingMessage
from shared.time import utcnow


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    event_id: str
    event_type: str
    exchange: str
    routing_key: str
    mandatory: bool
    body: bytes
    attempts: int

    def message(self) -> OutgoingMessage:
        return OutgoingMessage(
            exchange=self.exchange,
            routing_key=self.routing_key,
            body=self.body,
            message_id=self.event_id,
            event_type=self.event_type,
            mandatory=self.mandatory,
        )


class Outbox:
    """Data access for one service's outbox table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def add(
        self,
        session: Session,
        event: Event,
        *,
        routing_key: str | None = None,
        mandatory: bool = False,
    ) -> None:
        self.add_many(session, [(event, routing_key, mandatory)])

    def add_many(self, session: Session, entries: list[tuple[Event, str | None, bool]]) -> None:
        """One INSERT for all of a transaction's events (`(event, routing_key, mandatory)`),
        in the order they were added: the relay publishes in that order."""
        if not entries:
            return
        now = utcnow()
        session.execute(
            self.table.insert(),
            [
                {
                    "event_id": event.id,
                    "event_type": event.type,
                    "exchange": contract_for(event.type).exchange,
                    "routing_key": routing_key or event.type,
                    "mandatory": mandatory,
                    "body": event.to_json().decode(),
                    "correlation_id": event.correlationid,
                    "created_at": now,
                    "attempts": 0,
                }
                for event, routing_key, mandatory in entries
            ],
        )

    def claim_unpublished(
        self, session: Session, limit: int, *, skip_locked: bool
    ) -> list[OutboxRow]:
        """The oldest unpublished rows. On PostgreSQL the rows stay locked until the caller's
        transaction ends, and rows another relay holds are skipped, so relays never publish
        the same row at the same time."""
        query = (
            select(
                self.table.c.seq,
                self.table.c.event_id,
                self.table.c.event_type,
                self.table.c.exchange,
                self.table.c.routing_key,
                self.table.c.mandatory,
                self.table.c.body,
                self.table.c.attempts,
            )
            .where(
                self.table.c.published_at.is_(None),
                or_(
                    self.table.c.next_attempt_at.is_(None),
                    self.table.c.next_attempt_at <= utcnow(),
                ),
            )
            .order_by(self.table.c.seq)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        return [
            OutboxRow(
                seq=row.seq,
                event_id=row.event_id,
                event_type=row.event_type,
                exchange=row.exchange,
                routing_key=row.routing_key,
                mandatory=row.mandatory,
                body=row.body.encode(),
                attempts=row.attempts,
            )
            for row in rows
        ]

    def mark_published(self, session: Session, seqs: list[int]) -> None:
        if seqs:
            session.execute(
                update(self.table)
                .where(self.table.c.seq.in_(seqs))
                .values(published_at=utcnow(), last_error=None)
            )

    def mark_failed(self, session: Session, rows: list[OutboxRow], error: str) -> None:
        """Counts a refused attempt and holds the row back for a growing, capped delay."""
        if rows:
            now = utcnow()
            session.execute(
                update(self.table)
                .where(self.table.c.seq == bindparam("s"))
                .values(
                    attempts=self.table.c.attempts + 1,
                    last_error=error[:2000],
                    next_attempt_at=bindparam("retry_at"),
                ),
                [
                    {"s": row.seq, "retry_at": now + timedelta(seconds=min(2**row.attempts, 300))}
                    for row in rows
                ],
            )

    def pending_count(self, session: Session) -> int:
        return session.execute(
            select(func.count()).where(self.table.c.published_at.is_(None))
        ).scalar_one()
