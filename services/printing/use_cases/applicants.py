"""Keeping what printing needs of an applicant from their submitted application, and forgetting
it when the application ends without a card."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from services.printing.dao import (
    dao_get_applicant,
    dao_get_card_by_application,
    dao_get_closed_application,
)
from services.printing.deps import Dependencies
from services.printing.domain.applicants import ID_NUMBER_COLUMN, ClosedOutcome, photo_name
from services.printing.models import Applicant, ClosedApplication
from shared.db.uow import UnitOfWork
from shared.personal_data.protection import mask_id_number
from shared.time import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """What printing reads from `application.submitted`."""

    application_id: str
    account_id: str
    acceptance_number: str
    outlet_id: str
    bank_code: str
    name: str
    gender: str
    ethnicity: str
    birth_date: str  # ISO 8601
    id_number: str
    # The claim check of the photo: url, sha256, content_type.
    photo: dict


def keep_applicant(
    uow: UnitOfWork, deps: Dependencies, *, submission: Submission, event_id: str
) -> bool:
    """Stores what printing needs from the submission; returns False when there was nothing to
    do (already kept, or the application was cancelled or rejected first)."""
    application_id = submission.application_id
    session = uow.session
    if dao_get_closed_application(session, application_id) is not None:
        return False
    if dao_get_applicant(session, application_id) is not None:
        return False
    # Fetched now, while the claim check is fresh, so printing and any reprint later depend on
    # nothing outside this service. Raises TransientError (retry) or PermanentMessageError.
    photo = deps.application_files.fetch(submission.photo)
    id_number = submission.id_number.upper()
    session.add(
        Applicant(
            application_id=application_id,
            account_id=submission.account_id,
            acceptance_number=submission.acceptance_number,
            outlet_id=submission.outlet_id,
            bank_code=submission.bank_code,
            name=submission.name,
            gender=submission.gender,
            ethnicity=submission.ethnicity,
            birth_date=date.fromisoformat(submission.birth_date),
            id_number_encrypted=deps.cipher.encrypt(id_number, column=ID_NUMBER_COLUMN),
            id_number_masked=mask_id_number(id_number),
            photo_sha256=submission.photo["sha256"],
            photo_content_type=submission.photo["content_type"],
            photo=deps.photo_cipher.seal(photo, name=photo_name(application_id)),
            submitted_event_id=event_id,
            received_at=utcnow(),
        )
    )
    return True


def forget_application_without_card(
    uow: UnitOfWork, *, application_id: str, outcome: ClosedOutcome
) -> None:
    """The application was cancelled or rejected before approval: no card will ever be made,
    the personal data kept for printing is deleted, and a tombstone keeps a late submission
    from storing it again (the first outcome stays; a second changes nothing). Either after
    the card was ordered changes nothing: the application service only allows cancelling
    before the print request, and verification decides once."""
    session = uow.session
    if dao_get_card_by_application(session, application_id) is not None:
        log.warning(
            "application %s %s after its card was ordered; ignored", application_id, outcome
        )
        return
    if dao_get_closed_application(session, application_id) is None:
        session.add(
            ClosedApplication(application_id=application_id, outcome=outcome, closed_at=utcnow())
        )
    applicant = dao_get_applicant(session, application_id)
    if applicant is not None:
        session.delete(applicant)
