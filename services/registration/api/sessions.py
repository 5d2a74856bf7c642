"""Sessions: log in with phone and password, get a short-lived access token
(use_cases.sessions says how)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.registration import deps
from services.registration.api.guards import address_limited
from services.registration.domain import accounts
from services.registration.domain.limits import LimitedAction
from services.registration.use_cases import sessions as use_cases
from shared.db.uow import UnitOfWork
from shared.web.auth import public
from shared.web.transaction import transactional

blp = Blueprint("sessions", __name__, description="Logging in: access tokens.")


class CredentialsSchema(Schema):
    phone = fields.String(
        required=True,
        validate=validate.Regexp(accounts.PHONE_PATTERN, error=accounts.PHONE_RULE),
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(1, accounts.PASSWORD_MAX_LENGTH),
    )


class AccessTokenSchema(Schema):
    access_token = fields.String(metadata={"description": "JWT signed with EdDSA, with a kid"})
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "Seconds until the token expires"})


@blp.route("/sessions", methods=["POST"])
@public
@address_limited(LimitedAction.LOGIN)
@transactional
@blp.arguments(CredentialsSchema)
@blp.response(200, AccessTokenSchema)
@blp.alt_response(401, description="Wrong phone or password (the same answer for both)")
@blp.alt_response(
    429,
    description="Too many failures for this phone, or too many log-ins from this "
    "address; see Retry-After",
)
@blp.alt_response(
    403,
    description="Right password, but the account is disabled (code `account_disabled`) or "
    "locked (code `account_locked`)",
)
@blp.alt_response(503, description="Busy hashing passwords; see Retry-After")
def create_session(credentials: dict, uow: UnitOfWork):
    """Log in: an access token for the account with this phone and password.

    There are no refresh tokens: when the token expires, log in again.
    """
    return use_cases.log_in(
        uow, deps.current(), phone=credentials["phone"], password=credentials["password"]
    )
