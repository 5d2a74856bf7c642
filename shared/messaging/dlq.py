"""The dead-letter queues, for operators: list what is parked and why, and replay it.

A parked message keeps its body and properties; its headers say why it was parked
(`sscard-error`, `sscard-error-kind`) and where it came from (`sscard-original-queue`,
or RabbitMQ's own `x-death` when the broker parked it after too many deliveries). Replaying
sends it back to that one queue only — not to every subscriber of its event type — with its
retry count reset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pika
from pika.exceptions import ChannelClosedByBroker
from pika.spec import BasicProperties

from shared.config import SERVICES, Settings
from shared.messaging.connection import connection_parameters
from shared.messaging.topology import (
    HEADER_DELAY,
    HEADER_ERROR,
    HEADER_ERROR_KIND,
    HEADER_FAILED_AT,
    HEADER_ORIGINAL_QUEUE,
    HEADER_RETRIES,
    HEADER_ROUTING_KEY,
    HEADER_SERVICE,
    dead_letter_queue,
)

_BOOKKEEPING_HEADERS = {
    HEADER_DELAY,
    HEADER_ERROR,
    HEADER_ERROR_KIND,
    HEADER_FAILED_AT,
    HEADER_ORIGINAL_QUEUE,
    HEADER_RETRIES,
    HEADER_SERVICE,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
}


@dataclass(frozen=True)
class DeadLetter:
    service: str
    message_id: str
    event_type: str | None
    original_queue: str | None
    error: str
    kind: str
    failed_at: str | None


def _decode(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _original_queue(headers: Mapping[str, Any]) -> str | None:
    if headers.get(HEADER_ORIGINAL_QUEUE):
        return _decode(headers[HEADER_ORIGINAL_QUEUE])
    deaths = headers.get("x-death") or []
    return _decode(deaths[0].get("queue")) if deaths else None


def _original_routing_key(headers: Mapping[str, Any]) -> str | None:
    deaths = headers.get("x-death") or []
    keys = deaths[-1].get("routing-keys") if deaths else None
    return _decode(keys[0]) if keys else None


def _describe(service: str, properties: BasicProperties) -> DeadLetter:
    headers: Mapping[str, Any] = properties.headers or {}
    deaths = headers.get("x-death") or []
    kind = _decode(headers.get(HEADER_ERROR_KIND)) or (
        _decode(deaths[0].get("reason")) if deaths else "unknown"
    )
    return DeadLetter(
        service=service,
        message_id=properties.message_id or "",
        event_type=properties.type,
        original_queue=_original_queue(headers),
        error=_decode(headers.get(HEADER_ERROR)) or f"dead-lettered by the broker ({kind})",
        kind=kind,
        failed_at=_decode(headers.get(HEADER_FAILED_AT)),
    )


def _services(service: str | None) -> Iterable[str]:
    return [service] if service else SERVICES


def list_dead_letters(settings: Settings, service: str | None = None) -> list[DeadLetter]:
    """Reads without consuming: every message is fetched unacked and returned to its queue
    when the channel closes."""
    connection = pika.BlockingConnection(connection_parameters(settings, "dlq-list"))
    letters: list[DeadLetter] = []
    try:
        for name in _services(service):
            channel = connection.channel()
            try:
                while True:
                    method, properties, _body = channel.basic_get(dead_letter_queue(name))
                    if method is None or properties is None:  # an empty queue: all three None
                        break
                    letters.append(_describe(name, properties))
            except ChannelClosedByBroker as exc:
                if exc.reply_code != 404:
                    raise
                continue  # this service has never started: no DLQ, nothing parked
            channel.close()
    finally:
        connection.close()
    return letters


def replay(
    settings: Settings, message_id: str | None = None, *, service: str | None = None
) -> list[DeadLetter]:
    """Sends parked messages back to the queue they failed in: one by id, or all of them
    (`message_id=None`). Each is removed from the DLQ only after the broker confirmed the
    copy. Returns what was replayed."""
    connection = pika.BlockingConnection(connection_parameters(settings, "dlq-replay"))
    replayed: list[DeadLetter] = []
    try:
        for name in _services(service):
            channel = connection.channel()
            channel.confirm_delivery()
            while True:
                try:
                    method, properties, body = channel.basic_get(dead_letter_queue(name))
                except ChannelClosedByBroker as exc:
                    if exc.reply_code != 404:
                        raise
                    break
                if method is None or properties is None or body is None:  # all three, or none
                    break
                letter = _describe(name, properties)
                if (message_id and letter.message_id != message_id) or not letter.original_queue:
                    continue  # stays unacked; back in the DLQ when the channel closes
                headers = {
                    key: value
                    for key, value in (properties.headers or {}).items()
                    if key not in _BOOKKEEPING_HEADERS
                }
                original_key = _original_routing_key(properties.headers or {})
                if original_key and HEADER_ROUTING_KEY not in headers:
                    # Parked by the broker itself (too many deliveries): the routing key is
                    # only in x-death, and handlers that check it need it back.
                    headers[HEADER_ROUTING_KEY] = original_key
                copy = BasicProperties(
                    content_type=properties.content_type,
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=properties.message_id,
                    type=properties.type,
                    correlation_id=properties.correlation_id,
                    app_id=properties.app_id,
                    timestamp=properties.timestamp,
                    headers=headers or None,
                )
                channel.basic_publish("", letter.original_queue, body, copy, mandatory=True)
                # A Basic.GetOk always carries its tag; pika's spec class defaults it to None.
                channel.basic_ack(cast(int, method.delivery_tag))
                replayed.append(letter)
            if channel.is_open:
                channel.close()
    finally:
        connection.close()
    return replayed
