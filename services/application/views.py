"""The application as its owner sees it (`GET /applications/{id}`), rendered whenever the
application changes and stored beside it.

Reads outnumber writes by far (citizens and their apps poll for progress; an application
changes a dozen times in its life), so the read is one primary-key lookup returning stored
JSON, and the work of joining the timeline and documents happens once per change, inside the
transaction that makes the change.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from services.application.dao import dao_get_document_kinds, dao_get_timeline
from services.application.domain.applicant import missing_documents
from services.application.domain.status import Status
from services.application.models import Application
from shared.messaging.envelope import format_time


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def render_application(session: Session, application: Application) -> dict:
    status = Status(application.status)
    present = dao_get_document_kinds(session, application.application_id)
    card = (
        {"card_id": application.card_id, "card_serial": application.card_serial}
        if application.card_id
        else None
    )
    return {
        "application_id": application.application_id,
        "acceptance_number": application.acceptance_number,
        "status": status.value,
        "outlet_id": application.outlet_id,
        "bank_code": application.bank_code,
        "applicant": {
            "name": application.name,
            "gender": application.gender,
            "ethnicity": application.ethnicity,
            "birth_date": application.birth_date.isoformat(),
            "id_number_masked": application.id_number_masked,
            "phone": application.phone,
            "address": application.address,
            "person_status": application.person_status,
        },
        "photo_source": application.photo_source,
        "missing": missing_documents(present) if status is Status.DRAFT else [],
        "card": card,
        "rejection_reasons": list(application.rejection_reasons or []),
        "timeline": [
            {"status": entry.status, "at": _time(entry.at), "detail": entry.detail}
            for entry in dao_get_timeline(session, application.application_id)
        ],
        "created_at": _time(application.created_at),
        "updated_at": _time(application.updated_at),
        "submitted_at": _time(application.submitted_at),
        # Last, so that revision 0005 could add it to the views rendered before it.
        "documents_deleted_at": _time(application.documents_deleted_at),
    }


def refresh_view(session: Session, application: Application) -> None:
    """Call after every change to the application, before its transaction commits."""
    session.flush()
    application.view = json.dumps(
        render_application(session, application), ensure_ascii=False, separators=(",", ":")
    )
