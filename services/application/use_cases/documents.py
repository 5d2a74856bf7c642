"""The photo and ID card images: served to the other sscard services through the claim check,
and deleted with their applications' documents once the retention of an application that
ended without a card has passed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.application.dao import (
    dao_delete_documents,
    dao_get_stored_file,
    dao_list_closed_applications_keeping_documents,
    dao_save_application,
)
from services.application.deps import Dependencies
from services.application.domain.status import ENDED_WITHOUT_CARD
from shared.errors import NotFound
from shared.time import utcnow


def get_stored_file(deps: Dependencies, *, sha256: str) -> tuple[bytes, str]:
    """A stored file's bytes and content type; 404 when no row records it or it does not open.
    The database is let go before the file is read."""
    with deps.database.session_factory() as session:
        stored = dao_get_stored_file(session, sha256)
    data = deps.files.get(sha256) if stored else None
    if stored is None or data is None:
        raise NotFound("No such file.")
    return data, stored.content_type


def delete_closed_documents(
    session: Session, *, closed_before: datetime, limit: int
) -> tuple[int, int]:
    """Deletes the documents of up to `limit` applications rejected or cancelled before
    `closed_before`, releases their files (the sweep deletes them after its grace period) and
    records when on each application and in its owner's view; (how many applications, how many
    files released). One batch of a housekeeping job, in the transaction the job opened."""
    found = dao_list_closed_applications_keeping_documents(
        session, ENDED_WITHOUT_CARD, closed_before, limit=limit
    )
    released = dao_delete_documents(session, [a.application_id for a in found])
    deleted_at = utcnow()
    for application in found:
        application.documents_deleted_at = deleted_at
        application.updated_at = deleted_at
        dao_save_application(session, application)
    return len(found), released
