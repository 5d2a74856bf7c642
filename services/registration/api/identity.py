"""`POST /internal/v1/accounts/{account_id}/identity-check` (services only): does this account
belong to the person with this real name and ID number?

The application service asks before a citizen may apply in a name. The full ID number is
compared here, by its blind index, so it never has to leave the registration service in any
answer — the caller learns only whether it matches.
"""

from __future__ import annotations

import uuid

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from services.registration.dao import id_number_index
from services.registration.domain.accounts import normalise_name
from services.registration.models import Account
from services.registration.runtime import runtime
from shared.auth import SERVICE
from shared.errors import NotFound
from shared.resident_id import normalise
from shared.web.app import readonly_session
from shared.web.auth import requires_roles

blp = Blueprint("identity", __name__, description="Internal: identity checks for other services.")

IDENTITY_CHECK_PATH = "/internal/v1/accounts/<uuid:account_id>/identity-check"


class IdentityClaimSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 60))
    id_number = fields.String(required=True, validate=validate.Length(18, 18))


class IdentityVerdictSchema(Schema):
    match = fields.Boolean(required=True)
    name_matches = fields.Boolean(required=True)
    id_number_matches = fields.Boolean(required=True)


@blp.route(IDENTITY_CHECK_PATH, methods=["POST"])
@requires_roles(SERVICE)
@blp.arguments(IdentityClaimSchema)
@blp.response(200, IdentityVerdictSchema)
@blp.doc(tags=["internal"])
def check_identity(claim: dict, account_id: uuid.UUID):
    """Whether the account's real name and ID number are the claimed ones."""
    with readonly_session() as session:
        account = session.scalar(select(Account).where(Account.account_id == str(account_id)))
    if account is None:
        raise NotFound("No such account.")
    claimed_index = id_number_index(runtime().cipher, normalise(claim["id_number"]))
    name_matches = account.name == normalise_name(claim["name"])
    id_matches = account.id_number_index is not None and account.id_number_index == claimed_index
    return {
        "match": name_matches and id_matches,
        "name_matches": name_matches,
        "id_number_matches": id_matches,
    }
