"""`GET /internal/v1/revocations` (every sscard service): the accounts whose earlier tokens every
service refuses (shared.auth.revocations keeps the list in each of them)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.registration import deps
from services.registration.use_cases import account_states as use_cases
from shared.auth.revocations import REVOCATIONS_PATH
from shared.config import SERVICES
from shared.web.app import readonly_session
from shared.web.auth import requires_service

blp = Blueprint("revocations", __name__, description="Internal: revoked tokens.")

RFC3339_UTC = "%Y-%m-%dT%H:%M:%S.%fZ"


class RevocationSchema(Schema):
    account_id = fields.String(metadata={"format": "uuid"})
    since = fields.DateTime(
        format=RFC3339_UTC,
        metadata={"description": "Tokens of this account issued (iat) before this are refused"},
    )


class RevocationsSchema(Schema):
    items = fields.List(fields.Nested(RevocationSchema))


@blp.route(REVOCATIONS_PATH, methods=["GET"])
@requires_service(*SERVICES)
@blp.response(200, RevocationsSchema)
@blp.doc(tags=["internal"])
def list_revocations():
    """Disabled and locked accounts, and accounts whose password was reset while their earlier
    tokens may still be alive, each with the moment from which those tokens are refused."""
    with readonly_session() as session:
        return use_cases.list_revocations(session, deps.current())
