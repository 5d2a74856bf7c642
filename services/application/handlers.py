"""What the application service does with each event it consumes: one function per type.

Outlet events keep the outlet read model; verification and card events move an application's
status and add to its timeline. Every handler tolerates duplicates (the timeline is keyed by
event id), lateness and reordering (the status machine in domain.status ignores stale facts).
"""

from __future__ import annotations

from services.application.dao import dao_get_application, dao_record_progress, dao_upsert_outlet
from services.application.domain.progress import fact_from_event, parse_time
from services.application.views import refresh_view
from shared.errors import PermanentMessageError
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Event
from shared.uow import UnitOfWork


def handle_outlet_upserted(uow: UnitOfWork, event: Event) -> None:
    dao_upsert_outlet(uow.session, event.data, parse_time(event.time))


def _record_progress(uow: UnitOfWork, event: Event) -> None:
    application_id = str(event.data["application_id"])
    application = dao_get_application(uow.session, application_id, for_update=True)
    if application is None:
        raise PermanentMessageError(f"{event.type} for unknown application {application_id}")
    if application.account_id != str(event.data["account_id"]):
        raise PermanentMessageError(f"{event.type} names another account than the application")
    fact = fact_from_event(event.type, event.data, event.time)
    dao_record_progress(uow.session, application, event.id, fact)
    refresh_view(uow.session, application)


def handle_verification_started(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_verification_review_required(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_verification_approved(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_verification_rejected(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_card_print_requested(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_card_printed(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_card_print_failed(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_card_shipped(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_card_ready_for_pickup(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_card_collected(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


def handle_card_activated(uow: UnitOfWork, event: Event) -> None:
    _record_progress(uow, event)


HANDLERS: dict[str, Handler] = {
    "outlet.upserted": handle_outlet_upserted,
    "verification.started": handle_verification_started,
    "verification.review_required": handle_verification_review_required,
    "verification.approved": handle_verification_approved,
    "verification.rejected": handle_verification_rejected,
    "card.print_requested": handle_card_print_requested,
    "card.printed": handle_card_printed,
    "card.print_failed": handle_card_print_failed,
    "card.shipped": handle_card_shipped,
    "card.ready_for_pickup": handle_card_ready_for_pickup,
    "card.collected": handle_card_collected,
    "card.activated": handle_card_activated,
}
