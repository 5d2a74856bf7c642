"""What the application service does with each event it consumes.

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
from shared.messaging.topology import CARD_EVENTS, VERIFICATION_OUTCOMES, VERIFICATION_STARTED


def handle_outlet_upserted(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    upsert_outlet(uow, deps, outlet=event.data, version_at=parse_time(event.time))


def handle_progress_event(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    """Every verification and card event moves the application the same way: they differ only
    in their type, which the status machine reads."""
    record_progress(
        uow,
        deps,
        application_id=str(event.data["application_id"]),
        account_id=str(event.data["account_id"]),
        event_id=event.id,
        event_type=event.type,
        fact=fact_from_event(event.type, event.data, event.time),
    )


HANDLERS: dict[str, DependentHandler] = {
    "outlet.upserted": handle_outlet_upserted,
    **dict.fromkeys(
        (VERIFICATION_STARTED, *VERIFICATION_OUTCOMES, *CARD_EVENTS), handle_progress_event
    ),
}
