"""What a verification or card event tells the applicant: the status it reports, when that
happened, a line for the timeline, and the card or rejection details it carries; and which
card the application names once it has heard of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.application.domain.status import EVENT_STATUS, Status

_CARD_DETAILS = {
    Status.PRINTED: "The card was printed.",
    Status.SHIPPED: "The card is on its way to your outlet.",
    Status.READY_FOR_PICKUP: "The card is ready for pickup at your outlet.",
    Status.COLLECTED: "The card was collected at the outlet.",
    Status.ACTIVATED: "The card's social security function was activated.",
}


@dataclass(frozen=True)
class ProgressFact:
    status: Status
    occurred_at: datetime
    detail: str
    card_id: str | None = None
    card_serial: str | None = None
    rejection_reasons: list[dict[str, str]] = field(default_factory=list)


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fact_from_event(event_type: str, data: dict[str, Any], event_time: str) -> ProgressFact:
    """`occurred_at` is when it happened (the bank's report time when the event carries one),
    not when this service heard of it."""
    status = EVENT_STATUS[event_type]
    occurred_at = parse_time(data.get("occurred_at") or event_time)
    card_id = data.get("card_id")
    card_serial = data.get("card_serial")
    reasons: list[dict[str, str]] = []
    if status is Status.VERIFYING:
        detail = "Your application is being checked."
    elif status is Status.REVIEW_REQUIRED:
        doubtful = [c["check"] for c in data.get("checks", []) if c.get("outcome") != "pass"]
        detail = "A case worker reviews your application"
        detail += f" ({', '.join(doubtful)})." if doubtful else "."
    elif status is Status.APPROVED:
        detail = "Your application was approved."
    elif status is Status.REJECTED:
        reasons = [{"code": r["code"], "detail": r["detail"]} for r in data.get("reasons", [])]
        detail = "Your application was rejected"
        detail += f": {', '.join(r['code'] for r in reasons)}." if reasons else "."
    elif status is Status.PRINT_REQUESTED:
        again = " again" if data.get("reprint") else ""
        detail = f"Sent to the bank ({data['bank_code']}) for printing{again}."
    elif status is Status.PRINT_FAILED:
        reason = data.get("reason")
        detail = f"Printing failed: {reason}." if reason else "Printing failed."
    else:
        detail = _CARD_DETAILS[status]
    return ProgressFact(status, occurred_at, detail, card_id, card_serial, reasons)


@dataclass(frozen=True)
class CardOnFile:
    """The card an application names, and the time of the report that named it."""

    card_id: str | None
    card_serial: str | None
    reported_at: datetime | None


def card_after(known: CardOnFile, fact: ProgressFact) -> CardOnFile:
    """The newest report names the current card (a reprint may bring a new one); a card's
    serial never changes, so it is taken from whichever report carries it, late or not."""
    if not fact.card_id:
        return known
    card_id, card_serial, reported_at = known.card_id, known.card_serial, known.reported_at
    if reported_at is None or fact.occurred_at >= reported_at:
        if fact.card_id != card_id:
            card_id, card_serial = fact.card_id, None
        reported_at = fact.occurred_at
    if fact.card_id == card_id and fact.card_serial:
        card_serial = fact.card_serial
    return CardOnFile(card_id, card_serial, reported_at)
