"""The manual review queue: reviewers list pending cases, look at them and their images, and
decide each once. Admins may read. Every view and decision is written to the audit table."""

from __future__ import annotations

import uuid

from flask import Response
from flask_smorest import Blueprint

from services.verification import deps
from services.verification.api.schemas import (
    CaseListSchema,
    CaseSchema,
    DecisionSchema,
    ReviewQuerySchema,
)
from services.verification.api.views import case_view
from services.verification.use_cases import reviews
from shared.auth.tokens import ADMIN, REVIEWER
from shared.db.uow import UnitOfWork
from shared.web.app import readonly_session
from shared.web.auth import current_principal, requires_roles
from shared.web.transaction import transactional

blp = Blueprint("reviews", __name__, description="The manual review queue")


def _actor() -> dict:
    principal = current_principal()
    return {"actor": principal.subject, "actor_roles": tuple(principal.roles)}


@blp.route("/reviews", methods=["GET"])
@requires_roles(REVIEWER, ADMIN)
@blp.arguments(ReviewQuerySchema, location="query")
@blp.response(200, CaseListSchema)
def list_reviews(query):
    """Cases in one status (by default `pending`: waiting for a reviewer), oldest first."""
    with readonly_session() as session:
        found = reviews.list_cases(session, status=query["status"], limit=query["limit"])
        return {"items": [case_view(case, checks) for case, checks in found]}


@blp.route("/reviews/<uuid:case_id>", methods=["GET"])
@requires_roles(REVIEWER, ADMIN)
@transactional
@blp.response(200, CaseSchema)
@blp.alt_response(404, description="No such case")
def get_review(case_id: uuid.UUID, uow: UnitOfWork):
    """One case with its checks and links to its images; the view is audited."""
    case, checks = reviews.view_case(uow, deps.current(), case_id=str(case_id), **_actor())
    return case_view(case, checks)


@blp.route("/reviews/<uuid:case_id>/files/<any(photo,id_card_front,id_card_back):kind>")
@requires_roles(REVIEWER)
@transactional
@blp.response(200, content_type="image/jpeg", description="The image (JPEG or PNG)")
@blp.alt_response(404, description="No such case or file")
@blp.alt_response(502, description="The application service no longer has the file intact")
@blp.alt_response(503, description="The application service is unreachable; try again")
def review_file(case_id: uuid.UUID, kind: str, uow: UnitOfWork):
    """One of the case's images, fetched from the application service by its claim check."""
    found = reviews.read_case_file(uow, deps.current(), case_id=str(case_id), kind=kind, **_actor())
    return Response(
        found.content,
        mimetype=found.content_type,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@blp.route("/reviews/<uuid:case_id>/decision", methods=["POST"])
@requires_roles(REVIEWER)
@transactional(idempotent=True)
@blp.arguments(DecisionSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(404, description="No such case")
@blp.alt_response(409, description="Already decided, or approving would give a second card")
def decide(payload, case_id: uuid.UUID, uow: UnitOfWork):
    """Approve or reject a pending case — once: 409 when it is already decided, and 409 when
    approving would give the person a second card."""
    case, checks = reviews.decide_case(
        uow,
        deps.current(),
        case_id=str(case_id),
        approve=payload["decision"] == "approve",
        reason=payload["reason"],
        **_actor(),
    )
    return case_view(case, checks)
