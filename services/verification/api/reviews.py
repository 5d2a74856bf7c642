"""The manual review queue: reviewers list pending cases, look at them and their images, and
decide each once. Admins may read. Every view and decision is written to the audit table."""

from __future__ import annotations

import uuid

from flask import Response
from flask_smorest import Blueprint

from services.verification import cases, dao
from services.verification.api.schemas import (
    CaseListSchema,
    CaseSchema,
    DecisionSchema,
    ReviewQuerySchema,
)
from services.verification.api.views import FILE_KINDS, case_view
from shared.auth.tokens import ADMIN, REVIEWER
from shared.claim_check import ClaimedFileGone, fetch_claimed_file
from shared.errors import DomainError, NotFound, PermanentMessageError
from shared.web.app import readonly_session, service_context, unit_of_work
from shared.web.auth import current_principal, requires_roles
from shared.web.idempotency import idempotent

blp = Blueprint("reviews", __name__, description="The manual review queue")


class FileUnavailable(DomainError):
    status, title, slug = 502, "File unavailable", "file-unavailable"


class FileGone(DomainError):
    """The application service no longer keeps the image: those of a rejected or cancelled
    application are deleted after their retention (APPLICATION_CLOSED_FILE_RETENTION_DAYS)."""

    status, title, slug = 410, "File deleted", "file-deleted"


def _case_or_404(session, case_id: uuid.UUID):
    case = dao.dao_get_case(session, str(case_id))
    if case is None:
        raise NotFound("No such case.")
    return case


@blp.route("/reviews", methods=["GET"])
@requires_roles(REVIEWER, ADMIN)
@blp.arguments(ReviewQuerySchema, location="query")
@blp.response(200, CaseListSchema)
def list_reviews(query):
    """Cases in one status (by default `pending`: waiting for a reviewer), oldest first."""
    with readonly_session() as session:
        found = dao.dao_list_cases(session, query["status"], limit=query["limit"])
        checks = dao.dao_get_checks(session, [case.case_id for case in found])
        return {"items": [case_view(case, checks[case.case_id]) for case in found]}


@blp.route("/reviews/<uuid:case_id>", methods=["GET"])
@requires_roles(REVIEWER, ADMIN)
@blp.response(200, CaseSchema)
@blp.alt_response(404, description="No such case")
def get_review(case_id):
    """One case with its checks and links to its images; the view is audited."""
    with unit_of_work() as uow:
        case = _case_or_404(uow.session, case_id)
        dao.dao_record_audit(uow.session, case.case_id, current_principal(), "viewed")
        checks = dao.dao_get_checks(uow.session, [case.case_id])[case.case_id]
        view = case_view(case, checks)
        uow.commit()
    return view


@blp.route("/reviews/<uuid:case_id>/files/<any(photo,id_card_front,id_card_back):kind>")
@requires_roles(REVIEWER)
@blp.response(200, content_type="image/jpeg", description="The image (JPEG or PNG)")
@blp.alt_response(404, description="No such case or file")
@blp.alt_response(502, description="The application service no longer has the file intact")
@blp.alt_response(503, description="The application service is unreachable; try again")
def review_file(case_id, kind):
    """One of the case's images, fetched from the application service by its claim check."""
    with unit_of_work() as uow:
        case = _case_or_404(uow.session, case_id)
        if not case.files or kind not in FILE_KINDS:
            raise NotFound("This case has no such file.")
        reference = case.files[kind]
        try:
            content = fetch_claimed_file(reference, service_context().service_tokens)
        except ClaimedFileGone:
            raise FileGone(
                "The application service no longer keeps this image (the images of a rejected "
                "or cancelled application are deleted after their retention)."
            ) from None
        except PermanentMessageError as exc:
            raise FileUnavailable(str(exc)) from None
        dao.dao_record_audit(uow.session, case.case_id, current_principal(), f"viewed_{kind}")
        uow.commit()
    return Response(
        content,
        mimetype=reference["content_type"],
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@blp.route("/reviews/<uuid:case_id>/decision", methods=["POST"])
@requires_roles(REVIEWER)
@idempotent
@blp.arguments(DecisionSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(404, description="No such case")
@blp.alt_response(409, description="Already decided, or approving would give a second card")
def decide(payload, case_id):
    """Approve or reject a pending case — once: 409 when it is already decided, and 409 when
    approving would give the person a second card."""
    principal = current_principal()
    with unit_of_work() as uow:
        case = _case_or_404(uow.session, case_id)
        uow.correlation_id = case.application_id
        cases.decide_case(
            uow,
            case,
            approve=payload["decision"] == "approve",
            reviewer=principal.subject,
            reason=payload["reason"],
        )
        dao.dao_record_audit(uow.session, case.case_id, principal, f"decided_{case.status}")
        checks = dao.dao_get_checks(uow.session, [case.case_id])[case.case_id]
        view = case_view(case, checks)
        uow.commit()
    return view
