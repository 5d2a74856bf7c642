"""Password resets: a citizen who forgot their password proves their phone with a texted code
(POST /phone-codes, purpose reset_password) and sets a new one."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.registration import deps
from services.registration.api.guards import address_limited, phone_code_required
from services.registration.domain import accounts
from services.registration.domain.limits import LimitedAction
from services.registration.domain.phone_codes import CODE_PATTERN, Purpose, code_invalid
from services.registration.use_cases import accounts as use_cases
from services.registration.use_cases.phone_codes import ProvenCode
from shared.db.uow import UnitOfWork
from shared.web.auth import public
from shared.web.transaction import transactional

blp = Blueprint("password_resets", __name__, description="Resetting a forgotten password.")


class PasswordResetSchema(Schema):
    phone = fields.String(
        required=True,
        validate=validate.Regexp(accounts.PHONE_PATTERN, error=accounts.PHONE_RULE),
    )
    code = fields.String(
        required=True,
        load_only=True,
        validate=validate.Regexp(CODE_PATTERN, error="The 6-digit code texted to the phone."),
    )
    new_password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(accounts.PASSWORD_MIN_LENGTH, accounts.PASSWORD_MAX_LENGTH),
    )

    @validates_schema(skip_on_field_errors=False)
    def _password_is_not_guessable(self, data: dict, **_kwargs) -> None:
        if "new_password" in data:
            problems = accounts.password_problems(data["new_password"], phone=data.get("phone", ""))
            if problems:
                raise ValidationError(problems, field_name="new_password")


@blp.route("/password-resets", methods=["POST"])
@public
@address_limited(LimitedAction.PASSWORD_RESET)
@phone_code_required(Purpose.RESET_PASSWORD, PasswordResetSchema)
@transactional
@blp.arguments(PasswordResetSchema)
@blp.response(204)
@blp.alt_response(422, description="Invalid fields; or `code`: code_invalid")
@blp.alt_response(429, description="Too many requests from this address; see Retry-After")
def reset_password(body: dict, uow: UnitOfWork, proven_code: ProvenCode | None):
    """Set a new password with the code texted to the account's phone. 204, and the phone's
    failed log-ins are forgotten."""
    if proven_code is None:
        raise code_invalid()
    use_cases.reset_password(
        uow,
        deps.current(),
        phone=body["phone"],
        code=proven_code,
        new_password=body["new_password"],
    )
    return None
