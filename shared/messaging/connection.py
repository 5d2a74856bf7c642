"""Connection parameters and the reconnect backoff shared by publishers and consumers."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pika
from pika.exceptions import AMQPError

from shared.config import Settings

# Everything pika raises when the broker or the network goes away.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (AMQPError, ConnectionError, OSError)


def connection_parameters(settings: Settings, role: str) -> pika.URLParameters:
    params = pika.URLParameters(settings.amqp_url)
    params.heartbeat = settings.heartbeat
    # A broker under memory or disk alarm blocks publishers; give up after a minute and
    # reconnect instead of hanging forever.
    params.blocked_connection_timeout = 60
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.client_properties = {"connection_name": f"{settings.service}-{role}"}
    return params


def backoff_delays(base: float = 0.2, cap: float = 15.0) -> Iterator[float]:
    """Capped exponential backoff with full jitter."""
    attempt = 0
    while True:
        yield random.uniform(0, min(cap, base * 2**attempt))
        attempt += 1


def wait_or_stop(stop: threading.Event, seconds: float) -> bool:
    """Sleeps, but wakes the moment the process is asked to stop; True when stopping."""
    return stop.wait(seconds)
