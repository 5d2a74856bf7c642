"""A status report about a card, from its bank (over AMQP) or a bank operator (over REST), and
why one cannot be applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.errors import Conflict

# Who a card's history says moved it (card_history.source).
SOURCE_PRINTING = "printing"


def bank_source(bank_code: str) -> str:
    return f"bank:{bank_code}"


def operator_source(subject: str) -> str:
    return f"operator:{subject}"


class ImpossibleTransition(Conflict):
    """The report contradicts what the card went through (print_failed after printed, …)."""


class NotYetPossible(Conflict):
    """The report skips a step: over REST a 409; on a queue the missing report may still be on
    its way, so the message is retried later."""


@dataclass(frozen=True)
class StatusReport:
    status: str
    source: str
    occurred_at: datetime
    reason: str | None = None
    bank_account: str | None = None
    # The serial of the print run the report is about, when the reporter says so.
    card_serial: str | None = None


def parse_occurred_at(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
