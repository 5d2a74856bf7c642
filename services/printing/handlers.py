"""What the bank printing service does with each event it consumes: one function per type."""

from __future__ import annotations

import re

from services.printing.cards import (
    CANCELLED,
    REJECTED,
    NotYetPossible,
    StatusReport,
    apply_status_report,
    forget_application_without_card,
    keep_applicant,
    order_card,
    parse_occurred_at,
)
from services.printing.dao import dao_get_card
from services.printing.database import printing_database
from services.printing.outlets import republish_all_outlets
from shared.errors import PermanentMessageError, TransientError
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Event
from shared.uow import UnitOfWork

BANK_ROUTING_KEY = re.compile(r"^bank\.(?P<bank_code>[A-Z][A-Z0-9]{1,15})\.(?P<status>[a-z_]+)$")


def handle_application_submitted(uow: UnitOfWork, event: Event) -> None:
    keep_applicant(uow, printing_database(uow), event.data, event.id)


def handle_application_cancelled(uow: UnitOfWork, event: Event) -> None:
    forget_application_without_card(uow, event.data["application_id"], CANCELLED)


def handle_verification_approved(uow: UnitOfWork, event: Event) -> None:
    order_card(uow, printing_database(uow), event.data["application_id"])


def handle_verification_rejected(uow: UnitOfWork, event: Event) -> None:
    forget_application_without_card(uow, event.data["application_id"], REJECTED)


def handle_outlet_snapshot_requested(uow: UnitOfWork, event: Event) -> None:
    republish_all_outlets(uow)


def reporting_bank(event: Event) -> str:
    """The bank that published the report, from its routing key `bank.<code>.<status>`."""
    match = BANK_ROUTING_KEY.match(event.routing_key or "")
    if match is None:
        raise PermanentMessageError(
            f"a bank status report needs the routing key bank.<bank_code>.<status>, "
            f"not {event.routing_key!r}"
        )
    if match["status"] != event.data["status"]:
        raise PermanentMessageError(
            f"routing key says {match['status']!r} but the report says {event.data['status']!r}"
        )
    return match["bank_code"]


def handle_bank_card_status(uow: UnitOfWork, event: Event) -> None:
    bank_code = reporting_bank(event)
    data = event.data
    card = dao_get_card(uow.session, data["card_id"], for_update=True)
    # Another bank's card is refused exactly like a card that does not exist, so a bank learns
    # nothing about cards that are not its own.
    if card is None or card.bank_code != bank_code:
        raise PermanentMessageError(f"bank {bank_code} has no card {data['card_id']}")
    report = StatusReport(
        status=data["status"],
        source=f"bank:{bank_code}",
        occurred_at=parse_occurred_at(data.get("occurred_at")),
        reason=data.get("reason"),
        bank_account=data.get("bank_account_masked"),
        card_serial=data.get("card_serial"),
    )
    try:
        apply_status_report(uow, card, report)
    except NotYetPossible as exc:
        raise TransientError(f"{exc.detail} (an earlier report may still be on its way)") from exc


HANDLERS: dict[str, Handler] = {
    "application.submitted": handle_application_submitted,
    "application.cancelled": handle_application_cancelled,
    "verification.approved": handle_verification_approved,
    "verification.rejected": handle_verification_rejected,
    "outlet.snapshot_requested": handle_outlet_snapshot_requested,
    "bank.card_status": handle_bank_card_status,
}
