"""A miniature service for exercising the messaging core: its handler writes one row per
event it handles, so "took effect exactly once" is a row count."""

from __future__ import annotations

import json
import uuid

import pika
from sqlalchemy import Column, Integer, String, Table, func, select

from shared.config import Settings
from shared.db.tables import new_metadata
from shared.db.uow import Database, UnitOfWork
from shared.messaging.connection import connection_parameters
from shared.messaging.envelope import Event, new_event
from shared.messaging.publisher import OutgoingMessage
from shared.messaging.topology import declare_topology

SERVICE = "application"  # borrows the application service's queue and its bindings
EVENT_TYPE = "verification.approved"

metadata = new_metadata()
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
)


def record_effect(uow: UnitOfWork, event: Event) -> None:
    uow.session.execute(effects.insert().values(event_id=event.id))


HANDLERS = {EVENT_TYPE: record_effect}


def approved_data() -> dict:
    return {
        "application_id": str(uuid.uuid4()),
        "account_id": str(uuid.uuid4()),
        "case_id": str(uuid.uuid4()),
    }


def sample_event() -> Event:
    return new_event(EVENT_TYPE, approved_data(), source="verification")


def add_events(database: Database, count: int) -> list[Event]:
    with UnitOfWork(database, "verification") as uow:
        events = [uow.add_event(EVENT_TYPE, approved_data()) for _ in range(count)]
        uow.commit()
    return events


def effect_count(database: Database, event_id: str | None = None) -> int:
    query = select(func.count()).select_from(effects)
    if event_id:
        query = query.where(effects.c.event_id == event_id)
    with database.session_factory() as session:
        return session.execute(query).scalar_one()


def distinct_effects(database: Database) -> int:
    with database.session_factory() as session:
        return session.execute(select(func.count(func.distinct(effects.c.event_id)))).scalar_one()


def publish_raw(
    settings: Settings, body: bytes, *, routing_key: str = EVENT_TYPE, message_id: str | None = None
) -> str:
    """Publishes like a careless outside producer would: no outbox, no validation."""
    message_id = message_id or str(uuid.uuid4())
    connection = pika.BlockingConnection(connection_parameters(settings, "test-producer"))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        message = OutgoingMessage("sscard.events", routing_key, body, message_id)
        channel.basic_publish("sscard.events", routing_key, body, message.properties("test"))
    finally:
        connection.close()
    return message_id


def publish_event(settings: Settings, event: Event) -> str:
    return publish_raw(settings, event.to_json(), routing_key=event.type, message_id=event.id)


def queue_depth(settings: Settings, queue: str) -> int:
    connection = pika.BlockingConnection(connection_parameters(settings, "test-inspector"))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def declare(settings: Settings) -> None:
    connection = pika.BlockingConnection(connection_parameters(settings, "test-declare"))
    try:
        declare_topology(connection.channel(), settings)
    finally:
        connection.close()


def body_of(event: Event) -> dict:
    return json.loads(event.to_json())
