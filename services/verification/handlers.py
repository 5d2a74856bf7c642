"""What the verification service does with each event it consumes: one function per type.
Each tolerates duplicates, lateness and reordering (see services/verification/cases.py)."""

from __future__ import annotations

from services.verification import cases, dependencies
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Event
from shared.messaging.topology import CARD_EVENTS, VERIFICATION_STARTED
from shared.uow import UnitOfWork


def handle_application_submitted(uow: UnitOfWork, event: Event) -> None:
    cases.open_case(uow, event.data, dependencies.current())


def handle_verification_started(uow: UnitOfWork, event: Event) -> None:
    cases.verify_case(uow, event.data, dependencies.current())


def handle_application_cancelled(uow: UnitOfWork, event: Event) -> None:
    cases.withdraw_application(uow, event.data)


def handle_card_event(uow: UnitOfWork, event: Event) -> None:
    cases.follow_card(uow, event.type, event.data)


HANDLERS: dict[str, Handler] = {
    "application.submitted": handle_application_submitted,
    "application.cancelled": handle_application_cancelled,
    VERIFICATION_STARTED: handle_verification_started,
    **dict.fromkeys(CARD_EVENTS, handle_card_event),
}
