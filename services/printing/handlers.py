"""What the bank printing service does with each event it consumes: one function per type,
each unpacking the event and calling one use case."""

from __future__ import annotations

import re

from services.printing.deps import Dependencies
from services.printing.domain.applicants import ClosedOutcome
from services.printing.domain.bank_commands import CONFIRMATION_STATUSES
from services.printing.domain.reports import (
    NotYetPossible,
    StatusReport,
    bank_source,
    parse_occurred_at,
)
from services.printing.use_cases.after_activation import record_bank_confirmation
from services.printing.use_cases.applicants import (
    Submission,
    forget_application_without_card,
    keep_applicant,
)
from services.printing.use_cases.card_reports import record_bank_report
from services.printing.use_cases.cards import order_card
from services.printing.use_cases.outlets import republish_all_outlets
from shared.db.uow import UnitOfWork
from shared.errors import PermanentMessageError, TransientError
from shared.messaging.consumer import DependentHandler
from shared.messaging.envelope import Event

BANK_ROUTING_KEY = re.compile(r"^bank\.(?P<bank_code>[A-Z][A-Z0-9]{1,15})\.(?P<status>[a-z_]+)$")


def handle_application_submitted(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    data = event.data
    applicant = data["applicant"]
    submission = Submission(
        application_id=data["application_id"],
        account_id=data["account_id"],
        acceptance_number=data["acceptance_number"],
        outlet_id=data["outlet_id"],
        bank_code=data["bank_code"],
        name=applicant["name"],
        gender=applicant["gender"],
        ethnicity=applicant["ethnicity"],
        birth_date=applicant["birth_date"],
        id_number=applicant["id_number"],
        photo=data["files"]["photo"],
    )
    keep_applicant(uow, deps, submission=submission, event_id=event.id)


def handle_application_cancelled(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    forget_application_without_card(
        uow, application_id=event.data["application_id"], outcome=ClosedOutcome.CANCELLED
    )


def handle_verification_approved(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    order_card(uow, deps, application_id=event.data["application_id"])


def handle_verification_rejected(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    forget_application_without_card(
        uow, application_id=event.data["application_id"], outcome=ClosedOutcome.REJECTED
    )


def handle_outlet_snapshot_requested(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
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


def handle_bank_card_status(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    bank_code = reporting_bank(event)
    data = event.data
    if data["status"] in CONFIRMATION_STATUSES:
        record_bank_confirmation(
            uow,
            bank_code=bank_code,
            card_id=str(data["card_id"]),
            status=data["status"],
            command_id=str(data["command_id"]) if data.get("command_id") else None,
        )
        return
    report = StatusReport(
        status=data["status"],
        source=bank_source(bank_code),
        occurred_at=parse_occurred_at(data.get("occurred_at")),
        reason=data.get("reason"),
        bank_account=data.get("bank_account_masked"),
        card_serial=data.get("card_serial"),
    )
    try:
        record_bank_report(uow, bank_code=bank_code, card_id=data["card_id"], report=report)
    except NotYetPossible as exc:
        raise TransientError(f"{exc.detail} (an earlier report may still be on its way)") from exc


HANDLERS: dict[str, DependentHandler] = {
    "application.submitted": handle_application_submitted,
    "application.cancelled": handle_application_cancelled,
    "verification.approved": handle_verification_approved,
    "verification.rejected": handle_verification_rejected,
    "outlet.snapshot_requested": handle_outlet_snapshot_requested,
    "bank.card_status": handle_bank_card_status,
}
