"""The outbox relay: publishes committed outbox rows with publisher confirms and marks them
sent only once the broker has confirmed them.

A relay that dies between publishing and marking publishes those rows again after restart;
consumers' inboxes absorb the copies. On PostgreSQL several relays may run side by side: each
claims its batch with `FOR UPDATE SKIP LOCKED`. On SQLite (a laptop) run one relay per service.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

from prometheus_client import Counter, Histogram
from sqlalchemy import delete

from shared.config import Settings
from shared.db.uow import Database
from shared.messaging.connection import backoff_delays
from shared.messaging.publisher import ConfirmingPublisher, PublishError
from shared.runtime.healthcheck import HeartbeatFile
from shared.time import utcnow

log = logging.getLogger(__name__)

PUBLISHED = Counter(
    "sscard_outbox_published_total", "Outbox events published and confirmed", ["service"]
)
PUBLISH_FAILURES = Counter(
    "sscard_outbox_publish_failures_total",
    "Outbox events the broker nacked or returned as unroutable",
    ["service"],
)
BATCH_SECONDS = Histogram(
    "sscard_outbox_batch_seconds", "Time to publish and confirm one outbox batch", ["service"]
)

# Published rows are kept a while for `sscardctl trace` and forensics, then pruned.
RETENTION = timedelta(days=7)


class OutboxRelay:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        publisher: ConfirmingPublisher | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.publisher = publisher or ConfirmingPublisher(settings, role="relay")
        self.stop_event = threading.Event()
        self._heartbeat = HeartbeatFile()
        self._last_prune = utcnow() - RETENTION

    def relay_once(self) -> int:
        """Publishes one batch; returns how many rows it took (0 when there was nothing)."""
        if self.database.is_postgresql:
            return self._relay_holding_locks()
        return self._relay_single()

    def _relay_holding_locks(self) -> int:
        outbox = self.database.outbox
        with self.database.session_factory() as session, session.begin():
            rows = outbox.claim_unpublished(
                session, self.settings.relay_batch_size, skip_locked=True
            )
            if rows:
                self._publish_and_mark(session, rows)
            return len(rows)

    def _relay_single(self) -> int:
        # SQLite has one writer; holding its lock while waiting for the broker would stall
        # every request, so read, publish, then mark in a second short transaction.
        outbox = self.database.outbox
        with self.database.session_factory() as session:
            with session.begin():
                rows = outbox.claim_unpublished(
                    session, self.settings.relay_batch_size, skip_locked=False
                )
            if rows:
                with session.begin():
                    self._publish_and_mark(session, rows)
            return len(rows)

    def _publish_and_mark(self, session, rows) -> None:
        service = self.settings.service
        with BATCH_SECONDS.labels(service).time():
            results = self.publisher.publish_batch([row.message() for row in rows])
        confirmed = [row.seq for row, ok in zip(rows, results, strict=True) if ok]
        refused = [row for row, ok in zip(rows, results, strict=True) if not ok]
        self.database.outbox.mark_published(session, confirmed)
        self.database.outbox.mark_failed(session, refused, "nacked or unroutable")
        PUBLISHED.labels(service).inc(len(confirmed))
        if refused:
            PUBLISH_FAILURES.labels(service).inc(len(refused))
            log.warning("%d outbox events were refused by the broker; will retry", len(refused))

    def prune(self) -> None:
        if utcnow() - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = utcnow()
        table = self.database.outbox.table
        with self.database.session_factory() as session, session.begin():
            session.execute(
                delete(table).where(
                    table.c.published_at.is_not(None), table.c.published_at < utcnow() - RETENTION
                )
            )

    def run(self) -> None:
        """Relays until stopped: a full batch goes straight on to the next one; an empty one
        waits a poll interval; a failure waits a growing, capped delay."""
        self.publisher.start()
        delays = backoff_delays()
        while not self.stop_event.is_set():
            try:
                taken = self.relay_once()
                self.prune()
                self._heartbeat.beat()
                delays = backoff_delays()
            except PublishError as exc:
                log.warning("outbox relay cannot publish: %s", exc)
                self.stop_event.wait(next(delays))
                continue
            except Exception:
                log.exception("outbox relay failed; retrying")
                self.stop_event.wait(next(delays))
                continue
            if taken < self.settings.relay_batch_size:
                self.stop_event.wait(self.settings.relay_poll_interval)
        self.publisher.close()

    def stop(self, *_args) -> None:
        self.stop_event.set()


def run_relay(settings: Settings, database: Database) -> None:
    relay = OutboxRelay(settings, database)
    signal.signal(signal.SIGTERM, relay.stop)
    signal.signal(signal.SIGINT, relay.stop)
    log.info("outbox relay started")
    relay.run()
    log.info("outbox relay stopped")
