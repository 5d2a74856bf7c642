"""The whole RabbitMQ topology, in one place, declared idempotently by every process at start.

Because every process declares every consumer queue before it publishes anything, an event is
never published into a void just because its consumer has not started yet.

Names:
- `<service>.events`        the service's consumer queue (quorum), bound to what it handles;
- `<service>.retry.<N>ms`   delay tiers: messages wait N ms, then dead-letter back to the
                            queue they came from (via the default exchange and their routing
                            key, which is that queue's name);
- `<service>.dlq`           parked messages, each with the error that parked it;
- `print.<bank_code>`       one durable queue per partner bank on `sscard.print`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pika.exceptions import ChannelClosedByBroker

from shared.config import SERVICES, Settings
from shared.messaging.events import (
    BANK_FEEDBACK_EXCHANGE,
    CARD_AFTER_ACTIVATION_EVENT_TYPES,
    CARD_STATUS_EVENT_TYPES,
    EVENTS_EXCHANGE,
    PRINT_EXCHANGE,
)

RETRY_EXCHANGE = "sscard.retry"
DEAD_LETTER_EXCHANGE = "sscard.dlx"

EXCHANGES: dict[str, str] = {
    EVENTS_EXCHANGE: "topic",
    PRINT_EXCHANGE: "direct",
    BANK_FEEDBACK_EXCHANGE: "topic",
    # Headers, so one publish picks the tier by header while the routing key stays the name
    # of the queue the message must return to.
    RETRY_EXCHANGE: "headers",
    DEAD_LETTER_EXCHANGE: "direct",
}

# Retry bookkeeping travels in message headers. Not `x-` names: the headers exchange ignores
# those when matching, and would send a retry to every tier of every service.
HEADER_SERVICE = "sscard-service"
HEADER_DELAY = "sscard-delay-ms"
HEADER_RETRIES = "sscard-retries"
HEADER_ERROR = "sscard-error"
HEADER_ERROR_KIND = "sscard-error-kind"
HEADER_ORIGINAL_QUEUE = "sscard-original-queue"
HEADER_FAILED_AT = "sscard-failed-at"
# The routing key a message was first published with. A retried or replayed copy comes back
# through the default exchange under the queue's name, so the original is kept here.
HEADER_ROUTING_KEY = "sscard-routing-key"


@dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str


def _on_events(*types: str) -> tuple[Binding, ...]:
    return tuple(Binding(EVENTS_EXCHANGE, event_type) for event_type in types)


# The verification service opens a case and announces it, then checks it on this event from
# its own queue: two transactions, so `verifying` is a status one can see (and a case whose
# checks wait on a slow registry is visible as such), and each step retries on its own.
VERIFICATION_STARTED = "verification.started"
VERIFICATION_OUTCOMES = (
    "verification.approved",
    "verification.review_required",
    "verification.rejected",
)
CARD_EVENTS = ("card.print_requested", *CARD_STATUS_EVENT_TYPES)

# What each service consumes. A guard-rail test checks that each service's worker has exactly
# one handler per bound event type, so bindings and handlers cannot drift apart.
SUBSCRIPTIONS: dict[str, tuple[Binding, ...]] = {
    # An approved application binds its ID number to its account and locks the others.
    "registration": _on_events("verification.approved"),
    "application": _on_events(
        "outlet.upserted", VERIFICATION_STARTED, *VERIFICATION_OUTCOMES, *CARD_EVENTS
    ),
    "verification": _on_events(
        "application.submitted", "application.cancelled", VERIFICATION_STARTED, *CARD_EVENTS
    ),
    "printing": (
        *_on_events(
            "application.submitted",
            "application.cancelled",
            "verification.approved",
            "verification.rejected",
            "outlet.snapshot_requested",
        ),
        Binding(BANK_FEEDBACK_EXCHANGE, "bank.*.*"),
    ),
    "notification": _on_events(
        "account.registered",
        "account.locked",
        "outlet.upserted",
        "application.submitted",
        "application.cancelled",
        VERIFICATION_STARTED,
        *VERIFICATION_OUTCOMES,
        *CARD_EVENTS,
        *CARD_AFTER_ACTIVATION_EVENT_TYPES,
    ),
}


def consumer_queue(service: str) -> str:
    return f"{service}.events"


def dead_letter_queue(service: str) -> str:
    return f"{service}.dlq"


def retry_queue(service: str, delay_ms: int) -> str:
    return f"{service}.retry.{delay_ms}ms"


def print_queue(bank_code: str) -> str:
    return f"print.{bank_code}"


def quorum_arguments(settings: Settings, dead_letter_routing_key: str) -> dict:
    return {
        "x-queue-type": "quorum",
        # RabbitMQ 3.x has no default: without a limit a message that crashes its consumer
        # is redelivered forever.
        "x-delivery-limit": settings.delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": dead_letter_routing_key,
        # Quorum queues dead-letter at-most-once unless told otherwise; at-least-once needs
        # reject-publish overflow.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def _exists(channel, kind: str, name: str) -> bool:
    """A passive declare on a channel of its own (a missing one closes that channel). Needs
    no permission, so a service's user can check what it may not declare."""
    probe = channel.connection.channel()
    try:
        if kind == "exchange":
            probe.exchange_declare(exchange=name, passive=True)
        else:
            probe.queue_declare(queue=name, passive=True)
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return False
        raise
    probe.close()
    return True


def declare_exchanges(channel) -> None:
    """Declares the exchanges that do not exist yet. Only an administrator (the setup step,
    tests) may create them; a service's user finds them there."""
    for name, kind in EXCHANGES.items():
        if not _exists(channel, "exchange", name):
            channel.exchange_declare(exchange=name, exchange_type=kind, durable=True)


def declare_service_queues(channel, settings: Settings, service: str) -> None:
    channel.queue_declare(
        queue=dead_letter_queue(service), durable=True, arguments={"x-queue-type": "quorum"}
    )
    channel.queue_bind(dead_letter_queue(service), DEAD_LETTER_EXCHANGE, routing_key=service)
    for delay in settings.retry_delays_ms:
        name = retry_queue(service, delay)
        channel.queue_declare(
            queue=name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-message-ttl": delay,
                # The default exchange with the message's own routing key (its home queue).
                "x-dead-letter-exchange": "",
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        channel.queue_bind(
            name,
            RETRY_EXCHANGE,
            arguments={"x-match": "all", HEADER_SERVICE: service, HEADER_DELAY: str(delay)},
        )
    bindings = SUBSCRIPTIONS.get(service, ())
    if bindings:
        queue = consumer_queue(service)
        channel.queue_declare(
            queue=queue, durable=True, arguments=quorum_arguments(settings, service)
        )
        for binding in bindings:
            channel.queue_bind(queue, binding.exchange, routing_key=binding.routing_key)


def declare_print_queue(channel, settings: Settings, bank_code: str) -> None:
    """A partner bank's print queue; its dead letters go to the printing service's DLQ."""
    queue = print_queue(bank_code)
    channel.queue_declare(
        queue=queue, durable=True, arguments=quorum_arguments(settings, "printing")
    )
    channel.queue_bind(queue, PRINT_EXCHANGE, routing_key=bank_code)


def declare_topology(channel, settings: Settings) -> None:
    """Everything but the per-bank print queues (the printing service declares those as banks
    are added). Idempotent; safe to call from every process on every (re)connect.

    A process declares (and binds) its own service's queues every time; another service's
    queues only when they do not exist yet. A service connecting as its own broker user may
    configure nothing else (docs/operations.md, "Broker users"): `sscardctl broker setup`
    has declared the rest before it started."""
    declare_exchanges(channel)
    for service in SERVICES:
        if service == settings.service or not _exists(channel, "queue", dead_letter_queue(service)):
            declare_service_queues(channel, settings, service)


def declare_full_topology(channel, settings: Settings) -> None:
    """What `sscardctl broker setup` declares as the administrator before any service starts:
    every exchange, and every service's queues with their current bindings."""
    declare_exchanges(channel)
    for service in SERVICES:
        declare_service_queues(channel, settings, service)
