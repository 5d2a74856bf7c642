"""What the verification service does with each event it consumes: one function per type,
each unpacking the event for its use case (services/verification/use_cases/cases.py), which
tolerates duplicates, lateness and reordering."""

from __future__ import annotations

from services.verification.deps import Dependencies
from services.verification.use_cases import cases
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import DependentHandler
from shared.messaging.envelope import Event
from shared.messaging.topology import CARD_EVENTS, VERIFICATION_STARTED


def handle_application_submitted(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    data = event.data
    cases.open_case(
        uow,
        deps,
        application_id=str(data["application_id"]),
        account_id=str(data["account_id"]),
        acceptance_number=data.get("acceptance_number"),
        outlet_id=str(data["outlet_id"]),
        bank_code=data["bank_code"],
        applicant=data["applicant"],
        files=data["files"],
    )


def handle_verification_started(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    cases.verify_case(uow, deps, case_id=str(event.data["case_id"]))


def handle_application_cancelled(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    cases.withdraw_application(
        uow,
        deps,
        application_id=str(event.data["application_id"]),
        account_id=str(event.data["account_id"]),
    )


def handle_card_event(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    cases.follow_card(
        uow,
        deps,
        card_event=event.type,
        application_id=str(event.data["application_id"]),
        card_id=str(event.data["card_id"]),
    )


HANDLERS: dict[str, DependentHandler] = {
    "application.submitted": handle_application_submitted,
    "application.cancelled": handle_application_cancelled,
    VERIFICATION_STARTED: handle_verification_started,
    **dict.fromkeys(CARD_EVENTS, handle_card_event),
}
