"""Where an application stands: the facts verification and printing report move it along its
lifecycle, and the public look-up reads where it is."""

from __future__ import annotations

from services.application.dao import (
    dao_add_timeline_entry,
    dao_get_application,
    dao_get_application_by_acceptance_number,
    dao_get_latest_application_by_id_number,
    dao_save_application,
)
from services.application.deps import Dependencies
from services.application.domain.acceptance import normalise_acceptance_number
from services.application.domain.applicant import normalise_name
from services.application.domain.progress import CardOnFile, ProgressFact, card_after
from services.application.domain.status import Status, StatusState, next_state
from services.application.use_cases.applications import move_to
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput, NotFound, PermanentMessageError
from shared.personal_data.resident_id import InvalidResidentId, parse_resident_id
from shared.time import format_time, utcnow


def record_progress(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    application_id: str,
    account_id: str,
    event_id: str,
    event_type: str,
    fact: ProgressFact,
) -> None:
    """Adds the fact reported by event `event_id` to the timeline and moves the status when
    the fact is not stale. A duplicate (the event is in the timeline already) changes nothing;
    an application that is unknown or another account's is a message never to process."""
    application = dao_get_application(uow.session, application_id, for_update=True)
    if application is None:
        raise PermanentMessageError(f"{event_type} for unknown application {application_id}")
    if application.account_id != account_id:
        raise PermanentMessageError(f"{event_type} names another account than the application")
    added = dao_add_timeline_entry(
        uow.session,
        application.application_id,
        event_id=event_id,
        status=fact.status,
        at=fact.occurred_at,
        detail=fact.detail,
    )
    if added:
        now = utcnow()
        current = StatusState(Status(application.status), application.status_at)
        state = next_state(current, fact.status, fact.occurred_at)
        if state != current:
            move_to(application, state, now=now)
            if state.status is Status.REJECTED:
                application.rejection_reasons = list(fact.rejection_reasons)
        known = CardOnFile(
            application.card_id, application.card_serial, application.card_reported_at
        )
        card = card_after(known, fact)
        application.card_id, application.card_serial = card.card_id, card.card_serial
        application.card_reported_at = card.reported_at
        application.updated_at = now
    dao_save_application(uow.session, application)


def look_up_progress(
    deps: Dependencies,
    *,
    name: str,
    id_number: str | None = None,
    acceptance_number: str | None = None,
) -> dict:
    """Status, when it last changed, and the outlet of the application found by the ID
    number (the person's newest) or the acceptance number, if its applicant has this name.
    Whatever does not match gets the same 404. The hot path of every channel."""
    if id_number is not None:
        try:
            number = parse_resident_id(id_number).number
        except InvalidResidentId as exc:
            raise InvalidInput(str(exc), errors={"id_number": [str(exc)]}) from None
        index = deps.id_numbers.blind_index(number)
        row = dao_get_latest_application_by_id_number(deps.reads, index)
    else:
        normalised = normalise_acceptance_number(acceptance_number or "")
        if normalised is None:
            raise InvalidInput(
                "Not an acceptance number.",
                errors={"acceptance_number": ["Looks like SSC-20261125-7K3Q9M."]},
            )
        row = dao_get_application_by_acceptance_number(deps.reads, normalised)
    if row is None or normalise_name(row.name) != normalise_name(name):
        raise NotFound("No application matches these details.")
    return {
        "status": row.status,
        "updated_at": format_time(row.status_at),
        "outlet": {"name": row.outlet_name, "address": row.outlet_address},
    }
