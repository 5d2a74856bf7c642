"""Data access of the registration service: `dao_<verb>_<noun>()` over its own tables. Callers
own the transaction (a unit of work); nothing here commits."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.registration.domain.accounts import NewAccount
from services.registration.models import (
    ID_NUMBER_COLUMN,
    Account,
    AddressAttempt,
    LoginFailure,
    PhoneCode,
)
from shared.db.engine import is_postgresql
from shared.personal_data.protection import FieldCipher
from shared.time import utcnow


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


def dao_insert_account(
    session: Session,
    account: NewAccount,
    cipher: FieldCipher,
    *,
    identity_confirmed_at: datetime | None = None,
    phone_proven_at: datetime | None = None,
) -> Account:
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
        identity_confirmed_at=identity_confirmed_at,
        phone_proven_at=phone_proven_at,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        # Only the constraint's column is looked for; the driver's message may quote the
        # values, so it is never passed on.
        violated = str(exc.orig)
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


def _advisory_lock(session: Session, name: bytes) -> None:
    """Serialises work on one name until the transaction ends (every web worker). SQLite needs
    nothing: every transaction there takes the write lock up front (shared.db.tables)."""
    if is_postgresql(session):
        digest = hashlib.sha256(name).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def dao_lock_login_phone(session: Session, phone: str) -> None:
    """Serialises login bookkeeping for one phone until the transaction ends, so concurrent
    attempts (in any web worker) cannot all read "4 failures" and all go ahead."""
    _advisory_lock(session, b"sscard-login:" + phone.encode())


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


# Texted one-time codes


def dao_lock_phone_codes(session: Session, phone: str) -> None:
    """Serialises code requests and code checks for one phone until the transaction ends."""
    _advisory_lock(session, b"sscard-phone-code:" + phone.encode())


def dao_last_code_sent_at(session: Session, phone: str) -> datetime | None:
    return session.scalar(select(func.max(PhoneCode.created_at)).where(PhoneCode.phone == phone))


def dao_replace_phone_code(
    session: Session,
    *,
    phone: str,
    purpose: str,
    code_hmac: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """The phone's one live code for this purpose: earlier ones for it are gone."""
    session.execute(delete(PhoneCode).where(PhoneCode.phone == phone, PhoneCode.purpose == purpose))
    session.add(
        PhoneCode(
            phone=phone,
            purpose=purpose,
            code_hmac=code_hmac,
            created_at=now,
            expires_at=expires_at,
            failed_attempts=0,
        )
    )


def dao_get_phone_code(session: Session, phone: str, purpose: str) -> PhoneCode | None:
    return session.scalar(
        select(PhoneCode)
        .where(PhoneCode.phone == phone, PhoneCode.purpose == purpose)
        .order_by(PhoneCode.created_at.desc())
        .limit(1)
    )


def dao_count_code_failure(session: Session, code_id: int) -> None:
    session.execute(
        update(PhoneCode)
        .where(PhoneCode.id == code_id)
        .values(failed_attempts=PhoneCode.failed_attempts + 1)
    )


def dao_use_phone_code(session: Session, code_id: int, code_hmac: str, at: datetime) -> bool:
    """Marks the code used; False when it is no longer there unused (a concurrent request used
    it, or a new code replaced it)."""
    result = session.execute(
        update(PhoneCode)
        .where(
            PhoneCode.id == code_id, PhoneCode.code_hmac == code_hmac, PhoneCode.used_at.is_(None)
        )
        .values(used_at=at)
    )
    return result.rowcount == 1


def dao_delete_phone_codes_before(session: Session, before: datetime) -> None:
    session.execute(delete(PhoneCode).where(PhoneCode.expires_at <= before))


# Per-client-address limits


def dao_lock_address(session: Session, address_key: str, action: str) -> None:
    _advisory_lock(session, f"sscard-address:{action}:{address_key}".encode())


def dao_get_address_attempts(
    session: Session, address_key: str, action: str, *, since: datetime
) -> list[datetime]:
    return list(
        session.scalars(
            select(AddressAttempt.attempted_at).where(
                AddressAttempt.address_key == address_key,
                AddressAttempt.action == action,
                AddressAttempt.attempted_at > since,
            )
        )
    )


def dao_record_address_attempt(
    session: Session, address_key: str, action: str, at: datetime
) -> None:
    session.add(AddressAttempt(address_key=address_key, action=action, attempted_at=at))


def dao_delete_address_attempts_before(
    session: Session, before: datetime, *, address_key: str | None = None, action: str | None = None
) -> None:
    statement = delete(AddressAttempt).where(AddressAttempt.attempted_at <= before)
    if address_key is not None:
        statement = statement.where(
            AddressAttempt.address_key == address_key, AddressAttempt.action == action
        )
    session.execute(statement)
