"""Accounts: a citizen registers with their real name, and anyone signed in reads their own."""

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
from shared.web.app import readonly_session
from shared.web.auth import current_principal, public, requires_roles
from shared.web.transaction import transactional

blp = Blueprint("accounts", __name__, description="Real-name accounts.")

RFC3339_UTC = "%Y-%m-%dT%H:%M:%SZ"


def _validator(problems):
    def validate_field(value: str) -> None:
        messages = problems(value)
        if messages:
            raise ValidationError(messages)

    return validate_field


class RegistrationSchema(Schema):
    phone = fields.String(
        required=True,
        validate=validate.Regexp(accounts.PHONE_PATTERN, error=accounts.PHONE_RULE),
        metadata={"description": "Mainland mobile number", "example": "13800138000"},
    )
    code = fields.String(
        required=True,
        load_only=True,
        validate=validate.Regexp(CODE_PATTERN, error="The 6-digit code texted to the phone."),
        metadata={
            "description": "The code texted to the phone (POST /phone-codes, purpose register)",
            "example": "482913",
        },
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(accounts.PASSWORD_MIN_LENGTH, accounts.PASSWORD_MAX_LENGTH),
        metadata={"description": "Not digits only, not the phone number, not the ID number"},
    )
    name = fields.String(
        required=True,
        validate=_validator(lambda name: accounts.name_problems(accounts.normalise_name(name))),
        metadata={
            "description": "Real name: letters or Chinese characters, parts joined by ·",
            "minLength": accounts.NAME_MIN_LENGTH,
            "maxLength": accounts.NAME_MAX_LENGTH,
            "example": "张三",
        },
    )
    id_number = fields.String(
        required=True,
        load_only=True,
        validate=_validator(accounts.id_number_problems),
        metadata={
            "description": "Resident identity number (GB 11643): check character, real birth "
            "date, known region; a final x is taken as X",
            "pattern": "^[0-9]{17}[0-9Xx]$",
            "example": "11010519491231002X",
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def _password_is_not_guessable(self, data: dict, **_kwargs) -> None:
        if "password" not in data:
            return
        problems = accounts.password_problems(
            data["password"], phone=data.get("phone", ""), id_number=data.get("id_number")
        )
        if problems:
            raise ValidationError(problems, field_name="password")


class AccountSchema(Schema):
    account_id = fields.String(metadata={"format": "uuid"})
    phone = fields.String()
    name = fields.String()
    id_number_masked = fields.String(
        allow_none=True,
        metadata={"description": "The ID number masked; null for staff accounts"},
    )


class MyAccountSchema(AccountSchema):
    roles = fields.List(fields.String())
    bank_code = fields.String(allow_none=True)
    created_at = fields.DateTime(format=RFC3339_UTC)


@blp.route("/accounts", methods=["POST"])
@public
@address_limited(LimitedAction.ACCOUNT)
@phone_code_required(Purpose.REGISTER, RegistrationSchema)
@transactional(idempotent=True)
@blp.arguments(RegistrationSchema)
@blp.response(201, AccountSchema)
@blp.alt_response(409, description="The phone already has an account")
@blp.alt_response(
    422,
    description="Invalid fields; or `code`: code_invalid, "
    "identity_not_confirmed, phone_not_confirmed",
)
@blp.alt_response(429, description="Too many requests from this address; see Retry-After")
@blp.alt_response(503, description="The identity registry or the carrier check cannot be asked")
def register_account(registration: dict, uow: UnitOfWork, proven_code: ProvenCode | None):
    """Register a citizen's account with their phone (proven by the texted code), real name and
    ID number (confirmed with the identity registry), the phone registered with its carrier to
    that same person.

    An ID number may have several accounts: whoever registered a person's number first never
    keeps that person from registering.
    """
    if proven_code is None:
        raise code_invalid()
    registration = {**registration, "code": proven_code}
    return use_cases.register_citizen(uow, deps.current(), **registration)


@blp.route("/accounts/me", methods=["GET"])
@requires_roles(*accounts.ACCOUNT_ROLES)
@blp.response(200, MyAccountSchema)
def get_my_account():
    """The caller's own account, the ID number masked."""
    with readonly_session() as session:
        return use_cases.read_account(
            session, deps.current(), account_id=current_principal().subject
        )
