"""A service's database handle and the unit of work: one transaction per use case, in which
state changes, outbox events and inbox records commit together or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.orm import Session

from shared.db.engine import create_db_engine, is_postgresql, make_session_factory
from shared.messaging.envelope import Event, new_event
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox


class Database:
    """Engine, sessions and the messaging tables of one service's own database."""

    def __init__(self, url: str, metadata: MetaData, *, pool_size: int = 5) -> None:
        self.url = url
        self.metadata = metadata
        self.engine = create_db_engine(url, pool_size=pool_size)
        self.session_factory = make_session_factory(self.engine)
        self.outbox = Outbox(metadata.tables["outbox"])
        self.inbox = Inbox(metadata.tables["inbox"])
        self.idempotency_keys = metadata.tables["idempotency_keys"]

    @property
    def is_postgresql(self) -> bool:
        return is_postgresql(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """One transaction. Use as a context manager; nothing is committed unless `commit()` is
    called, and events added with `add_event` are published only if it is.

    Events inherit the correlation id (the application id through the whole flow) and the
    causation id (the event being handled) the unit of work was opened with.
    """

    def __init__(
        self,
        database: Database,
        source: str,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        session: Session | None = None,
    ) -> None:
        self.database = database
        self.source = source
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self._external_session = session is not None
        self.session: Session = session if session is not None else database.session_factory()
        self.events: list[Event] = []
        self._unflushed: list[tuple[Event, str | None, bool]] = []
        self._after_commit: list[Callable[[], None]] = []
        # Set by the consumer runner: how often this message was already retried after a
        # transient failure, and how many retries its delay tiers allow, so a handler can
        # choose a different fate on its last try instead of letting it be dead-lettered.
        self.delivery_retries = 0
        self.retry_budget = 0

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._external_session:
            return
        try:
            self.session.rollback()  # a no-op after commit
        finally:
            self.session.close()

    def add_event(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        subject: str | None = None,
        correlation_id: str | None = None,
        extensions: dict[str, Any] | None = None,
        routing_key: str | None = None,
        mandatory: bool = False,
    ) -> Event:
        event = new_event(
            event_type,
            data,
            source=self.source,
            subject=subject,
            correlation_id=correlation_id or self.correlation_id or subject,
            causation_id=self.causation_id,
            extensions=extensions,
        )
        # Written in one INSERT when the unit of work commits (see flush_events).
        self._unflushed.append((event, routing_key, mandatory))
        self.events.append(event)
        return event

    def flush_events(self) -> None:
        """Writes the events added so far to the outbox, in this transaction. `commit()` does
        it; a consumer's runner does it for its handlers before committing their batch."""
        entries, self._unflushed = self._unflushed, []
        self.database.outbox.add_many(self.session, entries)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Work that must only happen once the transaction is durable (a cache to drop)."""
        self._after_commit.append(callback)

    def commit(self) -> None:
        if self._external_session:
            # A consumer's handler runs inside the runner's transaction; the runner commits
            # once the inbox row is in the same transaction.
            return
        self.flush_events()
        self.session.commit()
        self.run_after_commit()

    def run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        if not self._external_session:
            self.session.rollback()
