"""Who may say what on the broker: one RabbitMQ user per service and one per partner bank,
each with exactly the permissions its work needs, and the check every consumer makes that an
event really comes from the service that owns its type.

RabbitMQ grants three regular expressions per user and vhost — configure (declare, delete),
write (publish to an exchange, bind a queue), read (consume from a queue, bind from an
exchange) — and, per topic exchange, two more over routing keys: write (what it may publish)
and read (what it may bind). Those topic permissions are what make "only the verification
service can publish `verification.approved`" a rule the broker enforces.

- A service's user configures, binds and consumes only its own queues (`<service>.*`: its
  consumer queue, retry tiers and dead-letter queue; printing also the banks' `print.*`
  queues it declares), publishes on `sscard.events` only the event types the registry says it
  owns, and binds its queue only to the types it consumes.
- A bank's user reads `print.<code>` and nothing else, and publishes on
  `sscard.bank-feedback` with routing keys `bank.<code>.<status>` and nothing else.
- The exchanges and every queue are declared by `sscardctl broker setup` (an administrator),
  before any service starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.config import SERVICES
from shared.messaging.events import (
    BANK_CONFIRMATION_STATUSES,
    BANK_FEEDBACK_EXCHANGE,
    BANK_REPORTED_STATUSES,
    EVENTS_EXCHANGE,
    PRINT_EXCHANGE,
    REGISTRY,
)
from shared.messaging.topology import (
    DEAD_LETTER_EXCHANGE,
    RETRY_EXCHANGE,
    SUBSCRIPTIONS,
    print_queue,
)

# The rule for bank codes (the printing service applies the same one): they become queue
# names and routing keys, so no dots and no wildcards.
BANK_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
TOPIC_EXCHANGES = (EVENTS_EXCHANGE, BANK_FEEDBACK_EXCHANGE)
NOTHING = "^$"
BANK_SOURCE = re.compile(r"^/banks/(?P<code>[^/]+)$")
BANK_ROUTING_KEY = re.compile(r"^bank\.(?P<code>[^.]+)\.(?P<status>[^.]+)$")


class InvalidBankCode(ValueError):
    pass


def check_bank_code(code: str) -> str:
    if not BANK_CODE_PATTERN.match(code):
        raise InvalidBankCode(
            f"{code!r} is not a bank code: 2 to 16 capital letters or digits, starting with a "
            "letter"
        )
    return code


def service_user(service: str, prefix: str = "") -> str:
    return f"{prefix}sscard-{service}"


def bank_user(code: str, prefix: str = "") -> str:
    return f"{prefix}bank-{check_bank_code(code)}"


@dataclass(frozen=True)
class TopicGrant:
    exchange: str
    write: str
    read: str


@dataclass(frozen=True)
class Grant:
    """Everything one broker user may do in one vhost."""

    user: str
    configure: str
    write: str
    read: str
    topics: tuple[TopicGrant, ...] = field(default_factory=tuple)
    tags: str = ""


def _one_of(*names: str) -> str:
    """A regex that matches exactly these names (and nothing when there are none)."""
    return "^(" + "|".join(re.escape(name) for name in names) + ")$" if names else NOTHING


def owned_event_types(service: str, exchange: str = EVENTS_EXCHANGE) -> tuple[str, ...]:
    return tuple(
        sorted(
            event_type
            for event_type, contract in REGISTRY.items()
            if contract.producer == service and contract.exchange == exchange
        )
    )


def consumed_routing_keys(service: str, exchange: str) -> tuple[str, ...]:
    return tuple(
        sorted({b.routing_key for b in SUBSCRIPTIONS.get(service, ()) if b.exchange == exchange})
    )


def service_grant(service: str, prefix: str = "") -> Grant:
    own_queues = rf"{re.escape(service)}\..*"
    configure = [own_queues]
    write = [own_queues, re.escape(RETRY_EXCHANGE), re.escape(DEAD_LETTER_EXCHANGE)]
    read = [own_queues, re.escape(RETRY_EXCHANGE), re.escape(DEAD_LETTER_EXCHANGE)]
    if owned_event_types(service):
        write.append(re.escape(EVENTS_EXCHANGE))
    if owned_event_types(service, PRINT_EXCHANGE):
        # Printing sends print messages and declares each bank's print queue (declaring a
        # queue with a dead-letter exchange takes read on the queue too; printing wrote every
        # message in it anyway).
        write += [re.escape(PRINT_EXCHANGE), r"print\..*"]
        configure.append(r"print\..*")
        read += [re.escape(PRINT_EXCHANGE), r"print\..*"]
    for exchange in TOPIC_EXCHANGES:
        if consumed_routing_keys(service, exchange):
            read.append(re.escape(exchange))
    topics = tuple(
        TopicGrant(
            exchange,
            write=_one_of(*owned_event_types(service, exchange)),
            read=_one_of(*consumed_routing_keys(service, exchange)),
        )
        for exchange in TOPIC_EXCHANGES
    )
    return Grant(
        user=service_user(service, prefix),
        configure="^(" + "|".join(configure) + ")$",
        write="^(" + "|".join(write) + ")$",
        read="^(" + "|".join(read) + ")$",
        topics=topics,
    )


def bank_grant(code: str, prefix: str = "") -> Grant:
    check_bank_code(code)
    # What a bank may say: a card's next step, or its confirmation of a block, unblock or
    # cancel command.
    statuses = "|".join(
        re.escape(status) for status in (*BANK_REPORTED_STATUSES, *BANK_CONFIRMATION_STATUSES)
    )
    return Grant(
        user=bank_user(code, prefix),
        configure=NOTHING,
        write=_one_of(BANK_FEEDBACK_EXCHANGE),
        read=_one_of(print_queue(code)),
        topics=(
            TopicGrant(
                BANK_FEEDBACK_EXCHANGE, write=rf"^bank\.{code}\.({statuses})$", read=NOTHING
            ),
            TopicGrant(EVENTS_EXCHANGE, write=NOTHING, read=NOTHING),
        ),
    )


def all_service_grants(prefix: str = "") -> list[Grant]:
    return [service_grant(service, prefix) for service in SERVICES]


def origin_problem(event_type: str, source: str, routing_key: str | None) -> str | None:
    """Why an event cannot have come from where it says, or None when it can.

    The broker lets only a type's owner publish that type as a routing key; this ties the
    event's own `type` and `source` to that routing key, so a service allowed to publish one
    type cannot smuggle in another inside it."""
    contract = REGISTRY.get(event_type)
    if contract is None:
        return None  # unknown types are refused elsewhere
    if contract.exchange == BANK_FEEDBACK_EXCHANGE:
        key = BANK_ROUTING_KEY.match(routing_key or "")
        from_bank = BANK_SOURCE.match(source)
        if key is None:
            return f"routing key {routing_key!r} is not bank.<bank_code>.<status>"
        if from_bank is None or from_bank["code"] != key["code"]:
            return (
                f"source {source!r} is not the bank whose routing key carried it "
                f"(/banks/{key['code']})"
            )
        return None
    owner = f"/sscard/{contract.producer}"
    if source != owner:
        return f"source {source!r} is not the owner of {event_type} ({owner})"
    if (
        contract.exchange == EVENTS_EXCHANGE
        and routing_key is not None
        and routing_key != event_type
    ):
        return f"an event of type {event_type} arrived with routing key {routing_key!r}"
    return None
