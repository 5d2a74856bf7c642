"""The tables every service carries for reliable messaging and idempotent requests, their
naming convention, and the column type that keeps timestamps tz-aware UTC on every backend."""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

from shared.time import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Stores UTC, returns tz-aware UTC, on PostgreSQL and on SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> MetaData:
    """A service's metadata, with the tables for outbox, inbox and idempotency already in it."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    add_messaging_tables(metadata)
    return metadata


def add_messaging_tables(metadata: MetaData) -> None:
    outbox = Table(
        "outbox",
        metadata,
        # An integer sequence gives the relay a cheap, index-ordered scan in commit order.
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(120), nullable=False),
        Column("exchange", String(120), nullable=False),
        Column("routing_key", String(255), nullable=False),
        # Unroutable messages on `mandatory` exchanges (print requests) must not count as sent.
        Column("mandatory", Boolean, nullable=False, default=False),
        Column("body", Text, nullable=False),
        # The application id through the whole flow: `sscardctl trace` finds events by it.
        Column("correlation_id", String(64), nullable=True, index=True),
        Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        Column("published_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        # A row the broker refused (nack, unroutable) waits before its next try.
        Column("next_attempt_at", UTCDateTime, nullable=True),
        Column("last_error", Text, nullable=True),
    )
    Index(
        "ix_outbox_unpublished",
        outbox.c.seq,
        postgresql_where=outbox.c.published_at.is_(None),
        sqlite_where=outbox.c.published_at.is_(None),
    )
    Table(
        "inbox",
        metadata,
        Column("consumer", String(120), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(120), nullable=False),
        Column("correlation_id", String(64), nullable=True, index=True),
        Column("processed_at", UTCDateTime, nullable=False, default=utcnow),
    )
    Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(64), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("method_path", String(300), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("content_type", String(120), nullable=True),
        Column("response_body", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    )
