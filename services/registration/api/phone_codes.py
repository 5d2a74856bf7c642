"""Phone codes: a six-digit code texted to a phone, to register or to reset a password. The
answer is the same for every phone (use_cases.phone_codes)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.registration import deps
from services.registration.api.guards import address_limited
from services.registration.domain import accounts
from services.registration.domain.limits import LimitedAction
from services.registration.domain.phone_codes import Purpose
from services.registration.use_cases import phone_codes as use_cases
from shared.db.uow import UnitOfWork
from shared.web.auth import public
from shared.web.transaction import transactional

blp = Blueprint("phone_codes", __name__, description="Texted one-time codes.")


class PhoneCodeRequestSchema(Schema):
    phone = fields.String(
        required=True,
        validate=validate.Regexp(accounts.PHONE_PATTERN, error=accounts.PHONE_RULE),
        metadata={"example": "13700001001"},
    )
    purpose = fields.String(
        required=True,
        validate=validate.OneOf([purpose.value for purpose in Purpose]),
        metadata={"example": "register"},
    )


class PhoneCodeSentSchema(Schema):
    expires_in = fields.Integer(metadata={"description": "Seconds the code stays valid"})
    resend_after = fields.Integer(metadata={"description": "Seconds before another code"})


@blp.route("/phone-codes", methods=["POST"])
@public
@address_limited(LimitedAction.PHONE_CODE)
@transactional
@blp.arguments(PhoneCodeRequestSchema)
@blp.response(202, PhoneCodeSentSchema)
@blp.alt_response(
    429,
    description="A code went to this phone moments ago, or too many "
    "requests from this address; see Retry-After",
)
@blp.alt_response(503, description="The SMS gateway did not take the text; nothing was kept")
def request_phone_code(body: dict, uow: UnitOfWork):
    """Text a one-time code to a phone: 202 with the same body for every phone.

    A code has 6 digits, lives `expires_in` seconds, is used once and dies after 5 wrong tries;
    a new one replaces it. For `reset_password`, a phone without a citizen account gets no
    text (and the same answer).
    """
    return use_cases.request_phone_code(
        uow, deps.current(), phone=body["phone"], purpose=body["purpose"]
    )
