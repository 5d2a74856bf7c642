"""Data access of the registration service: `dao_<verb>_<noun>()` over its own tables. Callers
own the transaction (a unit of work); nothing here commits."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.registration.domain.accounts import NewAccount
from services.registration.models import ID_NUMBER_COLUMN, Account, LoginFailure
from shared.db import is_postgresql, utcnow
from shared.pii import FieldCipher


class DuplicateAccount(Exception):
    """The database refused a second account with this `phone` (a concurrent registration won
    the race)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def id_number_index(cipher: FieldCipher, id_number: str) -> str:
    return cipher.blind_index(id_number, column=ID_NUMBER_COLUMN)


def dao_phone_has_account(session: Session, phone: str) -> bool:
    return session.scalar(select(Account.account_id).where(Account.phone == phone)) is not None


def dao_id_number_has_account(session: Session, index: str) -> bool:
    found = session.scalar(select(Account.account_id).where(Account.id_number_index == index))
    return found is not None


def dao_insert_account(session: Session, account: NewAccount, cipher: FieldCipher) -> Account:
    """Stores a new account, its ID number encrypted and blind-indexed; DuplicateAccount when a
    unique constraint refuses it."""
    row = Account(
        account_id=account.account_id,
        phone=account.phone,
        name=account.name,
        role=account.role,
        bank_code=account.bank_code,
        password_hash=account.password_hash,
        id_number_encrypted=(
            cipher.encrypt(account.id_number, column=ID_NUMBER_COLUMN)
            if account.id_number
            else None
        ),
        id_number_index=id_number_index(cipher, account.id_number) if account.id_number else None,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        # Only the constraint's column is looked for; the driver's message may quote the
        # values, so it is never passed on.
        violated = str(exc.orig)
        if "id_number" in violated:
            raise DuplicateAccount("id_number") from None
        if "phone" in violated:
            raise DuplicateAccount("phone") from None
        raise
    return row


def dao_get_account_by_id(session: Session, account_id: str) -> Account | None:
    return session.get(Account, account_id)


def dao_get_account_by_phone(session: Session, phone: str) -> Account | None:
    return session.scalar(select(Account).where(Account.phone == phone))


def dao_update_password_hash(session: Session, account_id: str, password_hash: str) -> None:
    session.execute(
        update(Account).where(Account.account_id == account_id).values(password_hash=password_hash)
    )


def dao_lock_login_phone(session: Session, phone: str) -> None:
    """Serialises login bookkeeping for one phone until the transaction ends, so concurrent
    attempts (in any web worker) cannot all read "4 failures" and all go ahead. SQLite needs
    nothing: every transaction there takes the write lock up front (shared.db)."""
    if is_postgresql(session):
        digest = hashlib.sha256(b"sscard-login:" + phone.encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def dao_get_login_failures(session: Session, phone: str, *, since: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(LoginFailure.failed_at).where(
                LoginFailure.phone == phone, LoginFailure.failed_at > since
            )
        )
    )


def dao_record_login_failure(session: Session, phone: str, at: datetime) -> None:
    session.add(LoginFailure(phone=phone, failed_at=at))


def dao_clear_login_failures(session: Session, phone: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.phone == phone))


def dao_delete_login_failures_before(
    session: Session, before: datetime, *, phone: str | None = None
) -> None:
    statement = delete(LoginFailure).where(LoginFailure.failed_at <= before)
    if phone is not None:
        statement = statement.where(LoginFailure.phone == phone)
    session.execute(statement)


# Account states (domain.account_states): disabled, locked, proven, revoked tokens.


def dao_get_accounts_by_id_number_index(
    session: Session, index: str, *, for_update: bool = False
) -> list[Account]:
    """Every account with this ID number, in a fixed order (so concurrent lockers wait for one
    another rather than deadlock)."""
    statement = select(Account).where(Account.id_number_index == index).order_by(Account.account_id)
    if for_update:
        statement = statement.with_for_update()
    return list(session.scalars(statement))


def dao_set_account_state(session: Session, account_id: str, **values) -> None:
    """Sets some of `disabled_at`, `locked_at`, `lock_reason`, `identity_proven_at`,
    `tokens_revoked_at` (and `password_hash`)."""
    session.execute(update(Account).where(Account.account_id == account_id).values(**values))


def dao_get_revocations(session: Session, *, revoked_after: datetime) -> list[tuple[str, datetime]]:
    """(account id, tokens revoked at) of every disabled or locked account, and of every other
    account whose tokens were revoked after `revoked_after`."""
    rows = session.execute(
        select(Account.account_id, Account.tokens_revoked_at).where(
            Account.tokens_revoked_at.is_not(None),
            or_(
                Account.disabled_at.is_not(None),
                Account.locked_at.is_not(None),
                Account.tokens_revoked_at > revoked_after,
            ),
        )
    )
    return [(account_id, revoked_at) for account_id, revoked_at in rows]
