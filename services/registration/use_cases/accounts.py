"""Accounts: a citizen registers themselves, an operator creates staff, anyone reads their own
account with the ID number masked."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from services.registration.dao import (
    DuplicateAccount,
    dao_get_account_by_id,
    dao_id_number_has_account,
    dao_insert_account,
    dao_phone_has_account,
    id_number_index,
)
from services.registration.deps import Dependencies
from services.registration.domain import accounts
from services.registration.domain.accounts import NewAccount
from services.registration.models import ID_NUMBER_COLUMN, Account
from shared.errors import NotFound
from shared.pii import FieldCipher, mask_id_number
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def register_citizen(
    uow: UnitOfWork, deps: Dependencies, *, phone: str, password: str, name: str, id_number: str
) -> dict[str, Any]:
    """Stores a citizen's account and its `account.registered` event; the account as shown to
    its owner. InvalidInput when a rule fails, AccountExists when the phone or the ID number
    already has an account."""
    account = accounts.register_citizen(
        phone=phone, password=password, name=name, id_number=id_number, passwords=deps.passwords
    )
    row = _store_account(uow, deps, account)
    uow.add_event(
        accounts.ACCOUNT_REGISTERED,
        {"account_id": account.account_id, "phone": account.phone, "name": account.name},
        subject=account.account_id,
    )
    log.info("account %s registered", account.account_id)
    return account_details(row, deps.cipher)


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


def _store_account(uow: UnitOfWork, deps: Dependencies, account: NewAccount) -> Account:
    """The check up front gives a precise answer; the unique constraints settle a race."""
    taken = []
    if dao_phone_has_account(uow.session, account.phone):
        taken.append("phone")
    if account.id_number and dao_id_number_has_account(
        uow.session, id_number_index(deps.cipher, account.id_number)
    ):
        taken.append("id_number")
    if taken:
        raise accounts.account_exists(taken)
    try:
        return dao_insert_account(uow.session, account, deps.cipher)
    except DuplicateAccount as duplicate:
        raise accounts.account_exists([duplicate.field]) from None
