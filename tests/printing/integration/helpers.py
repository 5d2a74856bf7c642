"""Looking at what the printing service did: its cards, its outbox, its queues."""

from __future__ import annotations

import json

import pika
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import func, select

from services.printing.models import Card
from shared.config import Settings
from shared.db.uow import Database
from shared.messaging.connection import connection_parameters
from shared.messaging.consumer import ConsumerRunner, bind_handlers
from shared.messaging.envelope import Event
from tests.printing.factories import delivery


def outbox_events(
    database: Database, event_type: str | None = None, subject: str | None = None
) -> list[dict]:
    """Events in the outbox, oldest first, by type and by subject (a card or outlet id)."""
    table = database.outbox.table
    query = select(table.c.body, table.c.routing_key).order_by(table.c.seq)
    if event_type:
        query = query.where(table.c.event_type == event_type)
    with database.session_factory() as session:
        events = [
            {**json.loads(row.body), "_routing_key": row.routing_key}
            for row in session.execute(query)
        ]
    return [event for event in events if subject is None or event.get("subject") == subject]


def cards_of(database: Database, application_id: str) -> list[Card]:
    with database.session_factory() as session:
        return list(session.scalars(select(Card).where(Card.application_id == application_id)))


def card_count(database: Database) -> int:
    with database.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Card))


def handle(settings: Settings, deps, handlers, *events_or_deliveries):
    """Runs events through the real consumer runner's batch path (inbox, one transaction,
    classification), without a broker, the handlers given `deps`; returns the outcomes."""
    runner = ConsumerRunner(settings, deps.database, bind_handlers(handlers, deps))
    deliveries = [
        item if not isinstance(item, Event) else delivery(item, tag=index)
        for index, item in enumerate(events_or_deliveries, start=1)
    ]
    return [settled.outcome.value for settled in runner.process_batch(deliveries)]


def handle_one_by_one(settings, deps, handlers, *events):
    return [handle(settings, deps, handlers, event)[0] for event in events]


def take_one(settings: Settings, queue: str, timeout: float = 10.0):
    """Consumes (and acks) one message from a queue; (method, properties, body)."""
    connection = pika.BlockingConnection(connection_parameters(settings, "test-reader"))
    try:
        channel = connection.channel()
        for method, properties, body in channel.consume(queue, inactivity_timeout=timeout):
            if method is None:
                raise AssertionError(f"nothing arrived on {queue} within {timeout}s")
            channel.basic_ack(method.delivery_tag)
            channel.cancel()
            return method, properties, body
    finally:
        connection.close()
    raise AssertionError("unreachable")


def queue_depth(settings: Settings, queue: str) -> int:
    connection = pika.BlockingConnection(connection_parameters(settings, "test-inspector"))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def publish(settings: Settings, exchange: str, routing_key: str, body: bytes, message_id: str):
    connection = pika.BlockingConnection(connection_parameters(settings, "test-publisher"))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange,
            routing_key,
            body,
            pika.BasicProperties(
                content_type="application/cloudevents+json",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=message_id,
            ),
            mandatory=True,
        )
    finally:
        connection.close()


def publish_event(settings: Settings, event: Event, routing_key: str | None = None) -> None:
    exchange = "sscard.bank-feedback" if event.type == "bank.card_status" else "sscard.events"
    publish(settings, exchange, routing_key or event.type, event.to_json(), event.id)


def ordered_card(settings, deps, files, **application_fields) -> Card:
    """A card in print_requested, ordered the way the worker orders one."""
    from services.printing.handlers import HANDLERS
    from tests.printing.factories import Application

    application = Application(files, **application_fields)
    outcomes = handle_one_by_one(
        settings, deps, HANDLERS, application.submitted(), application.approved()
    )
    assert outcomes == ["handled", "handled"], outcomes
    [card] = cards_of(deps.database, application.application_id)
    return card


def consumers(settings: Settings, queue: str) -> int:
    """How many consumers the queue has (0 while it does not exist yet)."""
    connection = pika.BlockingConnection(connection_parameters(settings, "test-inspector"))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count
    except ChannelClosedByBroker:
        return 0
    finally:
        if connection.is_open:
            connection.close()
