"""A case by its application: what was checked and how it ended."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.verification.api.schemas import CaseQuerySchema, CaseSchema
from services.verification.api.views import case_view
from services.verification.use_cases import cases
from shared.auth.tokens import ADMIN, REVIEWER
from shared.web.app import readonly_session
from shared.web.auth import requires_roles

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
