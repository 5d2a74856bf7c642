"""Sessions: log in with phone and password, get a short-lived access token.

A wrong phone and a wrong password get the same answer in about the same time, and too many
failures for one phone make it wait (domain.throttle).
"""

from __future__ import annotations

import logging
import random

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.registration.dao import (
    dao_clear_login_failures,
    dao_delete_login_failures_before,
    dao_get_account_by_phone,
    dao_get_login_failures,
    dao_lock_login_phone,
    dao_record_login_failure,
    dao_update_password_hash,
)
from services.registration.domain import accounts
from services.registration.domain.throttle import LoginThrottled
from services.registration.runtime import runtime
from shared.errors import Unauthorized
from shared.pii import mask_phone
from shared.web.app import unit_of_work
from shared.web.auth import public

log = logging.getLogger(__name__)

blp = Blueprint("sessions", __name__, description="Logging in: access tokens.")

# Share of logins that also sweep every phone's expired failures (each phone's own are swept
# whenever it is tried again).
SWEEP_PROBABILITY = 0.01


class InvalidCredentials(Unauthorized):
    title, slug = "Invalid credentials", "invalid-credentials"


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
@blp.arguments(CredentialsSchema)
@blp.response(200, AccessTokenSchema)
@blp.alt_response(401, description="Wrong phone or password (the same answer for both)")
@blp.alt_response(429, description="Too many failures for this phone; see Retry-After")
def create_session(credentials: dict):
    """Log in: an access token for the account with this phone and password.

    There are no refresh tokens: when the token expires, log in again.
    """
    phone, password = credentials["phone"], credentials["password"]
    context = runtime()
    now = context.clock()
    window_start = context.throttle.window_start(now)
    with unit_of_work() as uow:
        dao_lock_login_phone(uow.session, phone)
        dao_delete_login_failures_before(uow.session, window_start, phone=phone)
        if random.random() < SWEEP_PROBABILITY:
            dao_delete_login_failures_before(uow.session, window_start)
        try:
            context.throttle.check(
                dao_get_login_failures(uow.session, phone, since=window_start), now
            )
        except LoginThrottled:
            log.warning("login throttled for %s", mask_phone(phone))
            raise
        # Counted as a failure until the password proves right, so that concurrent guesses
        # cannot all slip in under the limit.
        dao_record_login_failure(uow.session, phone, now)
        account = dao_get_account_by_phone(uow.session, phone)
        uow.commit()

    # Outside any transaction: the hash is slow on purpose and must not hold locks.
    if not context.passwords.verify(account.password_hash if account else None, password):
        log.info("login failed for %s", mask_phone(phone))
        raise InvalidCredentials("The phone number or the password is wrong.")

    with unit_of_work() as uow:
        dao_clear_login_failures(uow.session, phone)
        if context.passwords.needs_rehash(account.password_hash):
            dao_update_password_hash(
                uow.session, account.account_id, context.passwords.hash(password)
            )
        uow.commit()
    return context.tokens.for_account(account.account_id, account.role, account.bank_code)
