"""Accounts: a citizen registers with their real name, and anyone signed in reads their own."""

from __future__ import annotations

import logging

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.registration.dao import dao_create_account, dao_get_account_by_id
from services.registration.domain import accounts
from services.registration.models import ID_NUMBER_COLUMN, Account
from services.registration.runtime import runtime
from shared.auth.tokens import ADMIN, BANK_OPERATOR, CITIZEN, INTEGRATOR, REVIEWER
from shared.errors import NotFound
from shared.pii import FieldCipher, mask_id_number
from shared.web.app import readonly_session, unit_of_work
from shared.web.auth import current_principal, public, requires_roles
from shared.web.idempotency import idempotent

log = logging.getLogger(__name__)

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
        metadata={"description": "First 6 and last 4 characters; null for staff accounts"},
    )


class MyAccountSchema(AccountSchema):
    roles = fields.List(fields.String())
    bank_code = fields.String(allow_none=True)
    created_at = fields.DateTime(format=RFC3339_UTC)


def _masked_id_number(account: Account, cipher: FieldCipher) -> str | None:
    if account.id_number_encrypted is None:
        return None
    return mask_id_number(cipher.decrypt(account.id_number_encrypted, column=ID_NUMBER_COLUMN))


def account_view(account: Account, cipher: FieldCipher) -> dict:
    return {
        "account_id": account.account_id,
        "phone": account.phone,
        "name": account.name,
        "id_number_masked": _masked_id_number(account, cipher),
        "roles": [account.role],
        "bank_code": account.bank_code,
        "created_at": account.created_at,
    }


@blp.route("/accounts", methods=["POST"])
@public
@idempotent
@blp.arguments(RegistrationSchema)
@blp.response(201, AccountSchema)
def register_account(registration: dict):
    """Register a citizen's account with their real name, ID number and mobile phone.

    409 when the phone or the ID number already has an account.
    """
    context = runtime()
    account = accounts.register_citizen(**registration, passwords=context.passwords)
    with unit_of_work() as uow:
        row = dao_create_account(uow.session, account, context.cipher)
        uow.add_event(
            "account.registered",
            {"account_id": account.account_id, "phone": account.phone, "name": account.name},
            subject=account.account_id,
        )
        uow.commit()
    log.info("account %s registered", account.account_id)
    return account_view(row, context.cipher)


@blp.route("/accounts/me", methods=["GET"])
@requires_roles(CITIZEN, REVIEWER, BANK_OPERATOR, INTEGRATOR, ADMIN)
@blp.response(200, MyAccountSchema)
def get_my_account():
    """The caller's own account, the ID number masked."""
    with readonly_session() as session:
        account = dao_get_account_by_id(session, current_principal().subject)
    if account is None:
        raise NotFound("There is no account for this token.")
    return account_view(account, runtime().cipher)
