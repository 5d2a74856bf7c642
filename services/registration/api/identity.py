"""`POST /internal/v1/accounts/{account_id}/identity-check` (the application service only): is
this a confirmed account of the person with this real name and ID number? → `{match}`.

The application service asks before a citizen may apply in a name. The full ID number is
compared here, by its blind index, so it never has to leave the registration service in any
answer — the caller learns only whether it matches.
"""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.registration import deps
from services.registration.use_cases import identity as use_cases
from shared.web.app import readonly_session
from shared.web.auth import requires_service

blp = Blueprint("identity", __name__, description="Internal: identity checks for other services.")

IDENTITY_CHECK_PATH = "/internal/v1/accounts/<uuid:account_id>/identity-check"


class IdentityClaimSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 60))
    id_number = fields.String(required=True, validate=validate.Length(18, 18))


class IdentityVerdictSchema(Schema):
    match = fields.Boolean(
        required=True,
        metadata={
            "description": "True only when the name and the ID number are the account's and "
            "the account's identity and phone were confirmed at registration"
        },
    )


@blp.route(IDENTITY_CHECK_PATH, methods=["POST"])
@requires_service("application")
@blp.arguments(IdentityClaimSchema)
@blp.response(200, IdentityVerdictSchema)
@blp.doc(tags=["internal"])
def check_identity(claim: dict, account_id: uuid.UUID):
    """Whether this is a confirmed account with the claimed real name and ID number."""
    with readonly_session() as session:
        return use_cases.check_identity(
            session,
            deps.current(),
            account_id=str(account_id),
            name=claim["name"],
            id_number=claim["id_number"],
        )
