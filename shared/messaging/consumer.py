"""The consumer runner: takes events off a service's quorum queue and hands each to its
handler inside one database transaction with the inbox record, acking only after commit.

Threads: the main thread owns the pika connection (pika is not thread-safe) and keeps it
serviced — heartbeats included — while a single worker thread runs handlers. Deliveries are
handled in batches: one transaction for a whole batch when every handler succeeds, and one
transaction per message when any of them fails, so one bad message never takes its neighbours
down with it.

Fates:
- handled, or already in the inbox → ack;
- transient failure → republished to the next delay tier (`<service>.retry.<N>ms`), then ack;
- permanent failure (malformed, unknown type, no handler, a business rule said no, an event
  whose `source` is not its type's owner or whose routing key is not its type) or delay
  tiers exhausted → republished to `<service>.dlq` with the error in its headers, then ack;
- consumer killed mid-handler → the broker redelivers; the inbox makes it take effect once;
- database unreachable → the batch is held, unacked, and retried in-process with backoff
  instead of burning the message's retries on an outage.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any, cast

import pika
from marshmallow import ValidationError
from pika.exceptions import NackError, UnroutableError
from pika.spec import BasicProperties
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.config import Settings
from shared.db.uow import Database, UnitOfWork
from shared.errors import DomainError, PermanentMessageError
from shared.messaging.connection import CONNECTION_ERRORS, backoff_delays, connection_parameters
from shared.messaging.envelope import Event, parse_event
from shared.messaging.permissions import origin_problem
from shared.messaging.topology import (
    DEAD_LETTER_EXCHANGE,
    HEADER_DELAY,
    HEADER_ERROR,
    HEADER_ERROR_KIND,
    HEADER_FAILED_AT,
    HEADER_ORIGINAL_QUEUE,
    HEADER_RETRIES,
    HEADER_ROUTING_KEY,
    HEADER_SERVICE,
    RETRY_EXCHANGE,
    consumer_queue,
    declare_topology,
)
from shared.observability.logs import log_context
from shared.runtime.healthcheck import HeartbeatFile
from shared.time import format_time, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Event], None]
# What a service's handlers.py declares: one function per event type, taking the service's
# dependencies (its deps.py) first. `bind_handlers` gives the runner `Handler`s.
DependentHandler = Callable[[Any, UnitOfWork, Event], None]


def bind_handlers(handlers: dict[str, DependentHandler], deps: Any) -> dict[str, Handler]:
    """The service's declared handlers with its dependencies bound, for the consumer runner."""
    return {event_type: partial(handler, deps) for event_type, handler in handlers.items()}


CONSUMED = Counter(
    "sscard_events_consumed_total",
    "Events taken off the service's queue, by type and outcome",
    ["service", "event_type", "outcome"],
)
BATCH_SECONDS = Histogram(
    "sscard_consumer_batch_seconds", "Time to handle and commit one batch of events", ["service"]
)


class Outcome(Enum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class Delivery:
    delivery_tag: int
    properties: BasicProperties
    body: bytes
    exchange: str
    routing_key: str
    redelivered: bool

    @property
    def retries(self) -> int:
        # Only our own retries set this header, always to an int.
        return int(cast(int, (self.properties.headers or {}).get(HEADER_RETRIES, 0)))

    @property
    def original_routing_key(self) -> str:
        """The header is trusted only on copies that came back through the default exchange
        (our own retries and replays); on a first delivery the routing key itself counts, so
        a publisher cannot pose as another routing key with a header of its own."""
        remembered = (self.properties.headers or {}).get(HEADER_ROUTING_KEY)
        if self.exchange == "" and remembered:
            return remembered.decode() if isinstance(remembered, bytes) else str(remembered)
        return self.routing_key


@dataclass(frozen=True)
class Settled:
    delivery: Delivery
    outcome: Outcome
    event: Event | None = None
    error: str | None = None

    @property
    def event_type(self) -> str:
        return self.event.type if self.event else (self.delivery.properties.type or "unknown")


class _HeldBatch(Exception):
    """The database is unreachable; keep the batch unacked and try again later."""


def _is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PermanentMessageError | DomainError | ValidationError)


class ConsumerRunner:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        handlers: dict[str, Handler],
        *,
        queue: str | None = None,
        batch_size: int | None = None,
        declare: Callable[[object, Settings], None] = declare_topology,
    ) -> None:
        self.settings = settings
        self.database = database
        self.handlers = dict(handlers)
        self.queue = queue or consumer_queue(settings.service)
        self.batch_size = batch_size or settings.consumer_batch_size
        self._declare = declare
        self._stop = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._pending: collections.deque[Delivery] = collections.deque()
        self._listeners: list[Callable[[list[Settled]], None]] = []
        self.ready = threading.Event()
        self._heartbeat = HeartbeatFile()

    # -- lifecycle --------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[list[Settled]], None]) -> None:
        """Called on the connection thread after each batch is settled (acked)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[list[Settled]], None]) -> None:
        self._listeners.remove(listener)

    def stop(self, *_args) -> None:
        """Finish the batch in hand, ack it, and return from `run`."""
        self._stop.set()
        self._wake()

    def run(self) -> None:
        delays = backoff_delays()
        while not self._stop.is_set():
            try:
                self._consume()
                delays = backoff_delays()
            except CONNECTION_ERRORS as exc:
                self.ready.clear()
                if self._stop.is_set():
                    break
                delay = next(delays)
                log.warning("consumer lost the broker (%s); reconnecting in %.1fs", exc, delay)
                self._stop.wait(delay)
        self.ready.clear()

    def _wake(self) -> None:
        connection = self._connection
        if connection is not None:
            # Raises when the connection is closed already; nothing is waiting then.
            with contextlib.suppress(Exception):
                connection.add_callback_threadsafe(lambda: None)

    # -- connection thread ------------------------------------------------------------------
    def _consume(self) -> None:
        connection = pika.BlockingConnection(connection_parameters(self.settings, "consumer"))
        self._connection = connection
        self._pending.clear()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.queue}-handler")
        in_flight: Future | None = None
        try:
            channel = connection.channel()
            self._declare(channel, self.settings)
            channel.basic_qos(prefetch_count=self.settings.prefetch)
            side_channel = connection.channel()
            side_channel.confirm_delivery()
            consumer_tag: str | None = channel.basic_consume(self.queue, self._on_message)
            self.ready.set()
            log.info("consuming %s", self.queue)
            while True:
                if self._stop.is_set():
                    if consumer_tag:
                        channel.basic_cancel(consumer_tag)
                        consumer_tag = None
                    if in_flight is None:
                        break
                connection.process_data_events(time_limit=0.5)
                self._heartbeat.beat()
                if in_flight is not None and in_flight.done():
                    self._settle(channel, side_channel, in_flight.result())
                    in_flight = None
                if in_flight is None and self._pending and not self._stop.is_set():
                    batch = [
                        self._pending.popleft()
                        for _ in range(min(self.batch_size, len(self._pending)))
                    ]
                    in_flight = executor.submit(self.process_batch, batch)
                    in_flight.add_done_callback(lambda _future: self._wake())
        finally:
            self.ready.clear()
            # A batch still running commits on its own; its messages were not acked and come
            # back, and the inbox then recognises them.
            executor.shutdown(wait=True)
            self._connection = None
            if connection.is_open:
                with contextlib.suppress(*CONNECTION_ERRORS):
                    connection.close()

    def _on_message(self, _channel, method, properties, body) -> None:
        self._pending.append(
            Delivery(
                delivery_tag=method.delivery_tag,
                properties=properties,
                body=body,
                exchange=method.exchange,
                routing_key=method.routing_key,
                redelivered=method.redelivered,
            )
        )

    def _settle(self, channel, side_channel, settled: list[Settled]) -> None:
        for item in settled:
            if item.outcome is Outcome.RETRY:
                self._republish_for_retry(side_channel, item)
            elif item.outcome is Outcome.DEAD_LETTER:
                self._republish_to_dead_letters(side_channel, item, kind="permanent")
        # Batches are taken in delivery order and settled one at a time, so every tag up to
        # the highest in this batch is settled now.
        channel.basic_ack(max(item.delivery.delivery_tag for item in settled), multiple=True)
        for item in settled:
            CONSUMED.labels(self.settings.service, item.event_type, item.outcome.value).inc()
        for listener in list(self._listeners):
            listener(settled)

    def _republish_for_retry(self, side_channel, item: Settled) -> None:
        retries = item.delivery.retries
        delays = self.settings.retry_delays_ms
        if retries >= len(delays):
            self._republish_to_dead_letters(side_channel, item, kind="retries-exhausted")
            return
        headers = {
            **(item.delivery.properties.headers or {}),
            HEADER_ROUTING_KEY: item.delivery.original_routing_key,
            HEADER_SERVICE: self.settings.service,
            HEADER_DELAY: str(delays[retries]),
            HEADER_RETRIES: retries + 1,
            HEADER_ERROR: (item.error or "")[:1000],
        }
        log.warning(
            "event %s failed (%s); retry %d in %d ms",
            item.event.id if item.event else item.delivery.properties.message_id,
            item.error,
            retries + 1,
            delays[retries],
        )
        try:
            self._publish_copy(side_channel, item, RETRY_EXCHANGE, self.queue, headers)
        except UnroutableError:
            self._republish_to_dead_letters(side_channel, item, kind="retry-unroutable")

    def _republish_to_dead_letters(self, side_channel, item: Settled, *, kind: str) -> None:
        headers = {
            **(item.delivery.properties.headers or {}),
            HEADER_ROUTING_KEY: item.delivery.original_routing_key,
            HEADER_ERROR: (item.error or "")[:1000],
            HEADER_ERROR_KIND: kind,
            HEADER_ORIGINAL_QUEUE: self.queue,
            HEADER_FAILED_AT: format_time(utcnow()),
        }
        log.error(
            "event %s parked in %s.dlq (%s): %s",
            item.delivery.properties.message_id,
            self.settings.service,
            kind,
            item.error,
        )
        self._publish_copy(side_channel, item, DEAD_LETTER_EXCHANGE, self.settings.service, headers)

    @staticmethod
    def _publish_copy(side_channel, item: Settled, exchange: str, routing_key: str, headers):
        original = item.delivery.properties
        properties = BasicProperties(
            content_type=original.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=original.message_id,
            type=original.type,
            correlation_id=original.correlation_id,
            app_id=original.app_id,
            timestamp=original.timestamp,
            headers=headers,
        )
        try:
            side_channel.basic_publish(
                exchange, routing_key, item.delivery.body, properties, mandatory=True
            )
        except NackError as exc:
            # Not acking the original makes the broker redeliver it; nothing is lost.
            raise ConnectionError(f"broker refused a retry copy: {exc}") from exc

    # -- worker thread ----------------------------------------------------------------------
    def process_batch(self, deliveries: list[Delivery]) -> list[Settled]:
        """Handles a batch; never raises. Also the seam unit tests drive without a broker."""
        with BATCH_SECONDS.labels(self.settings.service).time():
            results: dict[int, Settled] = {}
            decoded: list[tuple[int, Delivery, Event, Handler]] = []
            for index, delivery in enumerate(deliveries):
                try:
                    event = parse_event(delivery.body, routing_key=delivery.original_routing_key)
                    refused = origin_problem(event.type, event.source, event.routing_key)
                    if refused:
                        raise PermanentMessageError(f"forged or misrouted event: {refused}")
                    handler = self.handlers.get(event.type)
                    if handler is None:
                        raise PermanentMessageError(
                            f"{self.settings.service} has no handler for {event.type}"
                        )
                except PermanentMessageError as exc:
                    results[index] = Settled(delivery, Outcome.DEAD_LETTER, None, str(exc))
                    continue
                decoded.append((index, delivery, event, handler))
            if decoded:
                results.update(self._handle(decoded))
            return [results[index] for index in range(len(deliveries))]

    def _handle(self, items) -> dict[int, Settled]:
        delays = backoff_delays(base=0.5, cap=30)
        while True:
            try:
                try:
                    return self._handle_in_one_transaction(items)
                except _HeldBatch:
                    raise
                except Exception as exc:
                    if len(items) == 1:
                        return {items[0][0]: self._classify_failure(items[0], exc)}
                # One of them failed: give each its own transaction to find out which.
                results: dict[int, Settled] = {}
                for item in items:
                    results.update(self._handle_single(item))
                return results
            except _HeldBatch:
                if self._stop.is_set():
                    # Leave the batch unacked; the broker hands it to the next consumer.
                    raise ConnectionError("stopping with the database unreachable") from None
                delay = next(delays)
                log.warning("database unreachable; holding %d events for %.1fs", len(items), delay)
                self._stop.wait(delay)

    def _handle_single(self, item) -> dict[int, Settled]:
        try:
            return self._handle_in_one_transaction([item])
        except _HeldBatch:
            raise
        except Exception as exc:
            return {item[0]: self._classify_failure(item, exc)}

    def _classify_failure(self, item, exc: Exception) -> Settled:
        _index, delivery, event, _handler = item
        if isinstance(exc, IntegrityError) and self._already_processed(event):
            # A competing consumer committed the same event first.
            return Settled(delivery, Outcome.DUPLICATE, event)
        if _is_permanent(exc):
            return Settled(delivery, Outcome.DEAD_LETTER, event, _describe(exc))
        log.warning("handler for %s failed", event.type, exc_info=exc)
        return Settled(delivery, Outcome.RETRY, event, _describe(exc))

    def _already_processed(self, event: Event) -> bool:
        with self.database.session_factory() as session:
            return self.database.inbox.seen(session, self.queue, event.id)

    def _handle_in_one_transaction(self, items) -> dict[int, Settled]:
        results: dict[int, Settled] = {}
        units: list[UnitOfWork] = []
        inbox = self.database.inbox
        try:
            with self.database.session_factory() as session, session.begin():
                # One query and one insert for the whole batch's inbox bookkeeping.
                seen = inbox.seen_among(session, self.queue, [item[2].id for item in items])
                claimed: list[Event] = []
                for index, delivery, event, handler in items:
                    if event.id in seen:
                        results[index] = Settled(delivery, Outcome.DUPLICATE, event)
                        continue
                    seen.add(event.id)
                    claimed.append(event)
                    unit = UnitOfWork(
                        self.database,
                        self.settings.service,
                        correlation_id=event.correlationid or event.subject,
                        causation_id=event.id,
                        session=session,
                    )
                    unit.delivery_retries = delivery.retries
                    unit.retry_budget = len(self.settings.retry_delays_ms)
                    with log_context(event_id=event.id, correlation_id=event.correlationid):
                        handler(unit, event)
                    units.append(unit)
                    results[index] = Settled(delivery, Outcome.HANDLED, event)
                inbox.record_many(session, self.queue, claimed)
                for unit in units:
                    unit.flush_events()
        except DBAPIError as exc:
            if not isinstance(exc, IntegrityError) and not self._database_reachable():
                raise _HeldBatch() from exc
            raise
        for unit in units:
            unit.run_after_commit()
        return results

    def _database_reachable(self) -> bool:
        try:
            self.database.ping()
            return True
        except Exception:
            return False


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def run_worker(
    settings: Settings, database: Database, handlers: dict[str, Handler], **options
) -> None:
    """Entry point of a service's worker process: consume until SIGTERM or Ctrl-C."""
    runner = ConsumerRunner(settings, database, handlers, **options)
    signal.signal(signal.SIGTERM, runner.stop)
    signal.signal(signal.SIGINT, runner.stop)
    runner.run()
    log.info("worker stopped")
