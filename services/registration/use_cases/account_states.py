"""Account states: an operator disables, enables or resets the password of a staff account; an
approved application binds its ID number to its account and locks the other accounts with that
number; the list of accounts whose earlier tokens every service refuses
(domain.account_states says the rules)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.registration.dao import (
    dao_clear_login_failures,
    dao_get_account_by_id,
    dao_get_account_by_phone,
    dao_get_accounts_by_id_number_index,
    dao_get_revocations,
    dao_set_account_state,
)
from services.registration.deps import Dependencies
from services.registration.domain import account_states
from services.registration.domain.account_states import (
    ACCOUNT_LOCKED,
    IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT,
    AccountState,
)
from services.registration.domain.accounts import password_problems
from services.registration.models import Account
from shared.auth.revocations import issued_before
from shared.auth.tokens import CITIZEN
from shared.db.uow import UnitOfWork
from shared.errors import NotFound
from shared.personal_data.protection import mask_phone

log = logging.getLogger(__name__)


def state_of(account: Account) -> AccountState:
    return AccountState(
        account_id=account.account_id,
        role=account.role,
        disabled_at=account.disabled_at,
        locked_at=account.locked_at,
        lock_reason=account.lock_reason,
        identity_proven_at=account.identity_proven_at,
    )


def _staff_account(uow: UnitOfWork, phone: str) -> Account:
    account = dao_get_account_by_phone(uow.session, phone)
    if account is None or account.role == CITIZEN:
        raise NotFound("No staff account has this phone.")
    return account


def disable_staff(uow: UnitOfWork, deps: Dependencies, *, phone: str) -> str:
    """Disables a staff account: it cannot log in, and its tokens stop working everywhere
    within a minute. Its id; NotFound for a phone without a staff account. Disabling twice
    keeps the first moment."""
    account = _staff_account(uow, phone)
    if account.disabled_at is None:
        now = deps.clock()
        dao_set_account_state(
            uow.session, account.account_id, disabled_at=now, tokens_revoked_at=now
        )
        log.warning("staff account %s (%s) disabled", account.account_id, mask_phone(phone))
    return account.account_id


def enable_staff(uow: UnitOfWork, deps: Dependencies, *, phone: str) -> str:
    """Lets a disabled staff account log in again; the tokens it held before it was disabled
    stay refused. Its id; NotFound for a phone without a staff account."""
    account = _staff_account(uow, phone)
    if account.disabled_at is not None:
        dao_set_account_state(uow.session, account.account_id, disabled_at=None)
        log.warning("staff account %s (%s) enabled", account.account_id, mask_phone(phone))
    return account.account_id


def reset_staff_password(uow: UnitOfWork, deps: Dependencies, *, phone: str) -> tuple[str, str]:
    """Gives a staff account a new generated password, refuses the tokens it held and clears
    its failed logins: (its id, the new password, to be shown once). A disabled account stays
    disabled. NotFound for a phone without a staff account."""
    account = _staff_account(uow, phone)
    password = account_states.generated_password()
    while password_problems(password, phone=phone) or password.isalpha():
        password = account_states.generated_password()
    dao_set_account_state(
        uow.session,
        account.account_id,
        password_hash=deps.passwords.hash(password),
        tokens_revoked_at=deps.clock(),
    )
    dao_clear_login_failures(uow.session, phone)
    log.warning("password of staff account %s (%s) reset", account.account_id, mask_phone(phone))
    return account.account_id, password


def prove_identity(uow: UnitOfWork, deps: Dependencies, *, account_id: str) -> list[str]:
    """An application of this account was approved: its ID number is now bound to it, and every
    other citizen account with that number not yet proven is locked, each with an
    `account.locked` event. The ids locked; none again on a redelivery."""
    account = dao_get_account_by_id(uow.session, account_id)
    if account is None or account.id_number_index is None:
        log.warning("approved application of %s, which is no citizen account here", account_id)
        return []
    same_number = dao_get_accounts_by_id_number_index(
        uow.session, account.id_number_index, for_update=True
    )
    proven = next(state_of(row) for row in same_number if row.account_id == account_id)
    if proven.locked_at is not None:
        log.error("approved application of the locked account %s: left for staff", account_id)
        return []
    now = deps.clock()
    if proven.identity_proven_at is None:
        dao_set_account_state(uow.session, account_id, identity_proven_at=now)
    locked = account_states.accounts_to_lock(proven, [state_of(row) for row in same_number])
    for other in locked:
        dao_set_account_state(
            uow.session,
            other,
            locked_at=now,
            lock_reason=IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT,
            tokens_revoked_at=now,
        )
        uow.add_event(
            ACCOUNT_LOCKED,
            {"account_id": other, "reason": IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT},
            subject=other,
        )
        log.warning("account %s locked: %s proved its ID number", other, account_id)
    return locked


def revocation_window(deps: Dependencies) -> timedelta:
    """How long after a revocation a token issued before it can still be alive."""
    return timedelta(
        seconds=deps.options.access_token_ttl_seconds + deps.settings.token_leeway_seconds
    )


def list_revocations(session: Session, deps: Dependencies) -> dict[str, Any]:
    """Every disabled or locked account, and every account whose password was reset while its
    earlier tokens may still be alive, each with the moment from which its earlier tokens are
    refused."""
    revoked_after = deps.clock() - revocation_window(deps)
    rows = dao_get_revocations(session, revoked_after=revoked_after)
    return {"items": [{"account_id": account_id, "since": since} for account_id, since in rows]}


def is_token_revoked(session: Session, *, subject: str, issued_at: int) -> bool:
    """Registration's own check, on its own database: whether a token of this account, issued
    at `issued_at`, no longer counts (the account is disabled or locked, or its tokens were
    revoked after the token was issued)."""
    account = dao_get_account_by_id(session, subject)
    if account is None:
        return False
    if account.disabled_at is not None or account.locked_at is not None:
        return True
    revoked_at: datetime | None = account.tokens_revoked_at
    return revoked_at is not None and issued_before(issued_at, revoked_at.timestamp())


class OwnRevocations:
    """shared.auth.revocations.Revocations for the registration service itself: it asks its own
    database on every request instead of a list refreshed every 30 s."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def is_revoked(self, subject: str, issued_at: int) -> bool:
        with self.deps.database.session_factory() as session:
            return is_token_revoked(session, subject=subject, issued_at=issued_at)
