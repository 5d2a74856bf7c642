"""A case by its application: what was checked and how it ended."""

from __future__ import annotations

import uuid

from flask import Response
from flask_smorest import Blueprint

from services.verification import deps
from services.verification.api.schemas import CaseQuerySchema, CaseSchema
from services.verification.api.views import case_view
from services.verification.use_cases import cases, reviews
from shared.auth.tokens import ADMIN, REVIEWER
from shared.db.uow import UnitOfWork
from shared.web.app import readonly_session
from shared.web.auth import current_principal, requires_roles
from shared.web.transaction import transactional

blp = Blueprint("cases", __name__, description="Verification cases and their checks")


@blp.route("/cases", methods=["GET"])
@requires_roles(REVIEWER, ADMIN)
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CaseSchema)
@blp.alt_response(404, description="The application has no case (yet)")
def get_case_by_application(query):
    """The application's case and every check; 404 when it has none (yet)."""
    with readonly_session() as session:
        case, checks = cases.get_case_by_application(
            session, application_id=str(query["application_id"])
        )
        return case_view(case, checks)


@blp.route("/cases/<uuid:case_id>/registry-photo", methods=["GET"])
@requires_roles(REVIEWER)
@transactional
@blp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="image/jpeg",
    description="The photo on file (JPEG), `Cache-Control: private, no-store`",
)
@blp.alt_response(404, description="No such case, or no photo on file for its applicant")
@blp.alt_response(503, description="The identity registry is unreachable; try again")
def registry_photo(case_id: uuid.UUID, uow: UnitOfWork):
    """The applicant's photo on file in the identity registry, which `registry_face_match`
    compared the card photo and the ID card image with; each view is audited."""
    principal = current_principal()
    photo = reviews.read_registry_photo(
        uow,
        deps.current(),
        case_id=str(case_id),
        actor=principal.subject,
        actor_roles=tuple(principal.roles),
    )
    return Response(
        photo,
        mimetype="image/jpeg",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
