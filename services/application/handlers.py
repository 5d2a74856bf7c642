"""What the application service does with each event it consumes: one function per type.

Outlet events keep the outlet read model; verification and card events move an application's
status and add to its timeline. Every handler tolerates duplicates (the timeline is keyed by
event id), lateness and reordering (the status machine in domain.status ignores stale facts).
"""

from __future__ import annotations

from services.application.deps import Dependencies
from services.application.domain.progress import fact_from_event, parse_time
from services.application.use_cases.outlets import upsert_outlet
from services.application.use_cases.progress import record_progress
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import DependentHandler
from shared.messaging.envelope import Event


def handle_outlet_upserted(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    upsert_outlet(uow, deps, outlet=event.data, version_at=parse_time(event.time))


def _record_progress(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    record_progress(
        uow,
        deps,
        application_id=str(event.data["application_id"]),
        account_id=str(event.data["account_id"]),
        event_id=event.id,
        event_type=event.type,
        fact=fact_from_event(event.type, event.data, event.time),
    )


def handle_verification_started(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_verification_review_required(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_verification_approved(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_verification_rejected(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_card_print_requested(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_card_printed(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_card_print_failed(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_card_shipped(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_card_ready_for_pickup(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_card_collected(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


def handle_card_activated(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _record_progress(deps, uow, event)


HANDLERS: dict[str, DependentHandler] = {
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
