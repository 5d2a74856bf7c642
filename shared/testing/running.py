"""Run a consumer or a relay on a background thread for the length of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from shared.config import Settings
from shared.db.uow import Database
from shared.messaging.consumer import ConsumerRunner, Handler
from shared.messaging.relay import OutboxRelay


@contextmanager
def running_consumer(
    settings: Settings, database: Database, handlers: dict[str, Handler], **options
) -> Iterator[ConsumerRunner]:
    runner = ConsumerRunner(settings, database, handlers, **options)
    thread = threading.Thread(target=runner.run, name=f"{settings.service}-consumer", daemon=True)
    thread.start()
    if not runner.ready.wait(20):
        runner.stop()
        raise RuntimeError("consumer did not connect within 20s")
    try:
        yield runner
    finally:
        runner.stop()
        thread.join(20)


@contextmanager
def running_relay(settings: Settings, database: Database) -> Iterator[OutboxRelay]:
    relay = OutboxRelay(settings, database)
    thread = threading.Thread(target=relay.run, name=f"{settings.service}-relay", daemon=True)
    thread.start()
    if not relay.publisher.wait_ready(20):
        relay.stop()
        raise RuntimeError("relay did not connect within 20s")
    try:
        yield relay
    finally:
        relay.stop()
        thread.join(20)
