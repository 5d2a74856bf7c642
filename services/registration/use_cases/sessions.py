"""Logging in: a phone and a password for a short-lived access token.

A wrong phone and a wrong password get the same answer in about the same time, and too many
failures for one phone make it wait (domain.throttle).

Logging in is the one command with two transactions, on purpose. The attempt is counted as a
failure, in a transaction of its own that commits before the password is checked: the count
must hold whatever the answer (a 401 rolls the edge's transaction back), and concurrent
guesses must not all slip in under the limit. The hash is slow on purpose and is checked
outside any transaction, holding no locks. Only a right password then clears the count, in
the edge's unit of work.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime
from typing import Any

from services.registration.dao import (
    dao_clear_login_failures,
    dao_delete_login_failures_before,
    dao_get_account_by_phone,
    dao_get_login_failures,
    dao_lock_login_phone,
    dao_record_login_failure,
    dao_update_password_hash,
)
from services.registration.deps import Dependencies
from services.registration.domain.account_states import login_refusal
from services.registration.domain.throttle import LoginThrottled
from services.registration.models import Account
from services.registration.use_cases.account_states import state_of
from shared.db.uow import UnitOfWork
from shared.errors import Unauthorized
from shared.personal_data.protection import mask_phone

log = logging.getLogger(__name__)

# Share of logins that also sweep every phone's expired failures (each phone's own are swept
# whenever it is tried again).
SWEEP_PROBABILITY = 0.01


class InvalidCredentials(Unauthorized):
    title, slug = "Invalid credentials", "invalid-credentials"


def log_in(uow: UnitOfWork, deps: Dependencies, *, phone: str, password: str) -> dict[str, Any]:
    """An access token for the account with this phone and password; InvalidCredentials for a
    wrong phone or password alike, LoginThrottled after too many failures for this phone,
    AccountDisabled or AccountLocked (403) for the right password of such an account,
    HashingBusy (503) when no password-hashing slot comes free in time."""
    # A hashing slot first (domain.hash_slots): a login turned away busy is not counted.
    with deps.hash_slots.slot():
        with UnitOfWork(deps.database, deps.settings.service) as attempt:
            account = count_login_attempt(attempt, deps, phone=phone, now=deps.clock())
            attempt.commit()  # its own transaction, on purpose: see the module's docstring

        if not deps.passwords.verify(account.password_hash if account else None, password):
            log.info("login failed for %s", mask_phone(phone))
            raise InvalidCredentials("The phone number or the password is wrong.")
        # Only the right password learns that the account is disabled or locked.
        refusal = login_refusal(state_of(account))
        if refusal is not None:
            log.info("login refused for %s: %s", mask_phone(phone), refusal.slug)
            raise refusal

        dao_clear_login_failures(uow.session, phone)
        if deps.passwords.needs_rehash(account.password_hash):
            new_hash = deps.passwords.hash(password)
            dao_update_password_hash(uow.session, account.account_id, new_hash)
    return deps.tokens.for_account(account.account_id, account.role, account.bank_code)


def count_login_attempt(
    uow: UnitOfWork, deps: Dependencies, *, phone: str, now: datetime
) -> Account | None:
    """Records an attempt for this phone as a failure until the password proves right, unless
    the phone must wait (LoginThrottled); the phone's account, if it has one."""
    window_start = deps.throttle.window_start(now)
    dao_lock_login_phone(uow.session, phone)
    dao_delete_login_failures_before(uow.session, window_start, phone=phone)
    if random.random() < SWEEP_PROBABILITY:
        dao_delete_login_failures_before(uow.session, window_start)
    try:
        deps.throttle.check(dao_get_login_failures(uow.session, phone, since=window_start), now)
    except LoginThrottled:
        log.warning("login throttled for %s", mask_phone(phone))
        raise
    dao_record_login_failure(uow.session, phone, now)
    return dao_get_account_by_phone(uow.session, phone)
