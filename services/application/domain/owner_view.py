"""The application as its owner sees it (`GET /applications/{id}`), rendered whenever the
application changes and stored beside it.

Reads outnumber writes by far (citizens and their apps poll for progress; an application
changes a dozen times in its life), so the read is one primary-key lookup returning stored
JSON, and the work of joining the timeline and documents happens once per change, inside the
transaction that makes the change (dao.dao_save_application, the one place that stores it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

from services.application.domain.applicant import missing_documents
from services.application.domain.status import RANK, Status
from shared.time import format_time


class ApplicationRecord(Protocol):
    """What the view shows of an application (models.Application)."""

    application_id: str
    acceptance_number: str | None
    status: str
    outlet_id: str
    bank_code: str
    name: str
    gender: str
    ethnicity: str
    birth_date: date
    id_number_masked: str
    phone: str
    address: str
    person_status: str
    photo_source: str | None
    card_id: str | None
    card_serial: str | None
    rejection_reasons: Any
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    documents_deleted_at: datetime | None


class TimelineRecord(Protocol):
    entry_id: int
    status: str
    at: datetime
    detail: str


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def in_lifecycle_order(entries: Iterable[TimelineRecord]) -> list[TimelineRecord]:
    """Oldest first, by when each thing happened; ties in lifecycle order."""
    return sorted(entries, key=lambda e: (e.at, RANK[Status(e.status)], e.entry_id))


def render_owner_view(
    application: ApplicationRecord, present: set[str], timeline: Iterable[TimelineRecord]
) -> dict:
    """`present`: the kinds of document on file; `timeline`: the application's entries."""
    status = Status(application.status)
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
            for entry in in_lifecycle_order(timeline)
        ],
        "created_at": _time(application.created_at),
        "updated_at": _time(application.updated_at),
        "submitted_at": _time(application.submitted_at),
        # Last, so that revision 0005 could add it to the views rendered before it.
        "documents_deleted_at": _time(application.documents_deleted_at),
    }


def owner_view_json(
    application: ApplicationRecord, present: set[str], timeline: Iterable[TimelineRecord]
) -> str:
    """The view as stored: compact JSON, Chinese as it is."""
    return json.dumps(
        render_owner_view(application, present, timeline),
        ensure_ascii=False,
        separators=(",", ":"),
    )
