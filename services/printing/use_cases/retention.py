"""What the worker's housekeeping deletes: applicants' photos a retention after their card's
activation, and applicant copies of applications closed without a card that their
cancellation or rejection missed. Each step runs in a transaction the caller owns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.printing.dao import (
    dao_delete_photos,
    dao_forget_applicants_of_closed_applications,
    dao_list_applicants_keeping_photo_of_cards_activated_before,
)
from shared.time import utcnow


def delete_photos_of_cards_activated_before(
    session: Session, *, activated_before: datetime, limit: int
) -> tuple[int, int]:
    """Up to `limit` applicants whose card was activated before `activated_before` lose their
    photo; (how many were found, how many photos were deleted)."""
    found = dao_list_applicants_keeping_photo_of_cards_activated_before(
        session, activated_before, limit=limit
    )
    return len(found), dao_delete_photos(session, found, utcnow())


def forget_applicants_of_closed_applications(session: Session) -> int:
    """Deletes the applicant copies of applications closed without a card; how many."""
    return dao_forget_applicants_of_closed_applications(session)
