"""Accounts: a citizen registers themselves (proving their phone, their identity and that the
phone is theirs), resets a forgotten password with a texted code, an operator creates staff,
anyone reads their own account with the ID number masked."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from services.registration.dao import (
    DuplicateAccount,
    dao_clear_login_failures,
    dao_get_account_by_id,
    dao_get_account_by_phone,
    dao_insert_account,
    dao_phone_has_account,
    dao_set_account_state,
)
from services.registration.deps import Dependencies
from services.registration.domain import accounts
from services.registration.domain.accounts import CitizenDetails, NewAccount
from services.registration.domain.coded_errors import IdentityNotConfirmed, PhoneNotConfirmed
from services.registration.domain.phone_codes import code_invalid
from services.registration.models import ID_NUMBER_COLUMN, Account
from services.registration.use_cases.phone_codes import ProvenCode, use_phone_code
from shared.auth.tokens import CITIZEN
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput, NotFound
from shared.personal_data.protection import FieldCipher, mask_id_number, mask_phone

log = logging.getLogger(__name__)


def register_citizen(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    phone: str,
    code: ProvenCode,
    password: str,
    name: str,
    id_number: str,
) -> dict[str, Any]:
    """Stores a citizen's account and its `account.registered` event; the account as shown to
    its owner. `code` is the phone's proven code (the edge checked it). Cheapest first, the
    slow hash last: InvalidInput for a broken rule, AccountExists when the phone already has
    an account, IdentityNotConfirmed when the identity registry does not know this name with
    this ID number, PhoneNotConfirmed when the carrier does not have the phone registered to
    them, TransientError (503) when either cannot be asked — and then nothing is stored."""
    details = accounts.check_citizen(phone=phone, password=password, name=name, id_number=id_number)
    use_phone_code(uow, deps, code)  # rolled back with everything else if anything refuses
    if dao_phone_has_account(uow.session, phone):
        raise accounts.account_exists(["phone"])
    _confirm_identity(deps, details)
    account = accounts.citizen_account(details, deps.passwords.hash(password))
    now = deps.clock()
    row = _store_account(uow, deps, account, identity_confirmed_at=now, phone_proven_at=now)
    uow.add_event(
        accounts.ACCOUNT_REGISTERED,
        {"account_id": account.account_id, "phone": account.phone, "name": account.name},
        subject=account.account_id,
    )
    log.info("account %s registered", account.account_id)
    return account_details(row, deps.cipher)


def _confirm_identity(deps: Dependencies, details: CitizenDetails) -> None:
    """The identity registry knows this ID number under this name, and the phone's carrier has
    the phone registered to exactly this person (运营商三要素)."""
    if not accounts.registry_confirms(deps.registry.get_person(details.id_number), details):
        raise IdentityNotConfirmed(
            "The identity registry does not confirm this name with this ID number."
        )
    if not deps.carrier.verify(details.phone, details.name, details.id_number):
        log.info("carrier does not confirm %s", mask_phone(details.phone))
        raise PhoneNotConfirmed(
            "This phone is not registered with its carrier to this name and ID number. "
            "Register with a phone in your own name, or at a service counter in person."
        )


def reset_password(
    uow: UnitOfWork, deps: Dependencies, *, phone: str, code: ProvenCode, new_password: str
) -> None:
    """Sets a citizen's new password with the phone's proven reset code. CodeInvalid when the
    phone has no citizen account (no code was ever texted to it: the same answer as a wrong
    code), InvalidInput for a password that breaks the rules."""
    use_phone_code(uow, deps, code)
    account = dao_get_account_by_phone(uow.session, phone)
    if account is None or account.role != CITIZEN:
        raise code_invalid()
    id_number = deps.cipher.decrypt(account.id_number_encrypted, column=ID_NUMBER_COLUMN)
    problems = accounts.password_problems(new_password, phone=phone, id_number=id_number)
    if problems:
        raise InvalidInput("One or more fields are invalid.", errors={"new_password": problems})
    # Whoever held the old password may hold tokens too: they stop working with it.
    dao_set_account_state(
        uow.session,
        account.account_id,
        password_hash=deps.passwords.hash(new_password),
        tokens_revoked_at=deps.clock(),
    )
    dao_clear_login_failures(uow.session, phone)
    log.info("password reset for account %s", account.account_id)


def create_staff_account(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    role: str,
    phone: str,
    password: str,
    name: str,
    bank_code: str | None = None,
) -> str:
    """Stores a staff account (never through the public API); its id. InvalidInput or
    AccountExists when it cannot."""
    account = accounts.create_staff(
        role=role,
        phone=phone,
        password=password,
        name=name,
        bank_code=bank_code,
        passwords=deps.passwords,
    )
    return _store_account(uow, deps, account).account_id


def read_account(session: Session, deps: Dependencies, *, account_id: str) -> dict[str, Any]:
    """The account as shown to its owner; NotFound when there is none (a token outliving it)."""
    account = dao_get_account_by_id(session, account_id)
    if account is None:
        raise NotFound("There is no account for this token.")
    return account_details(account, deps.cipher)


def account_details(account: Account, cipher: FieldCipher) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "phone": account.phone,
        "name": account.name,
        "id_number_masked": _masked_id_number(account, cipher),
        "roles": [account.role],
        "bank_code": account.bank_code,
        "created_at": account.created_at,
    }


def _masked_id_number(account: Account, cipher: FieldCipher) -> str | None:
    if account.id_number_encrypted is None:
        return None
    return mask_id_number(cipher.decrypt(account.id_number_encrypted, column=ID_NUMBER_COLUMN))


def _store_account(
    uow: UnitOfWork, deps: Dependencies, account: NewAccount, **confirmed: Any
) -> Account:
    """The check up front gives a precise answer; the unique phone column settles a race."""
    if dao_phone_has_account(uow.session, account.phone):
        raise accounts.account_exists(["phone"])
    try:
        return dao_insert_account(uow.session, account, deps.cipher, **confirmed)
    except DuplicateAccount as duplicate:
        raise accounts.account_exists([duplicate.field]) from None
