"""Texted one-time codes: asking for one, proving a phone with one, and using it up.

Asking answers the same for every phone (and texts nothing for a password reset of a phone
without a citizen account), so it reveals nobody. A code is kept only as an HMAC. Checking a
code is the edge's own transaction (api/guards.py): a wrong try must stay counted although the
request then answers 422 and its own transaction rolls back. Using the code up belongs to the
request's transaction (first thing, so a reused code is refused before anything else and two
concurrent uses wait for each other), and a request that fails for any other reason leaves it
unused.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.registration.dao import (
    dao_count_code_failure,
    dao_delete_phone_codes_before,
    dao_get_account_by_phone,
    dao_get_phone_code,
    dao_last_code_sent_at,
    dao_lock_phone_codes,
    dao_replace_phone_code,
    dao_use_phone_code,
)
from services.registration.deps import Dependencies
from services.registration.domain.phone_codes import (
    Purpose,
    StoredCode,
    code_hmac,
    code_invalid,
    new_code,
    text_for,
)
from shared.auth.tokens import CITIZEN
from shared.db.uow import UnitOfWork
from shared.personal_data.protection import mask_phone

log = logging.getLogger(__name__)

SWEEP_PROBABILITY = 0.01
KEEP_EXPIRED_CODES = timedelta(hours=1)


@dataclass(frozen=True)
class ProvenCode:
    """A code that matched: which row, and the HMAC it had then."""

    code_id: int
    code_hmac: str


def request_phone_code(
    uow: UnitOfWork, deps: Dependencies, *, phone: str, purpose: str
) -> dict[str, Any]:
    """Stores a new code for the phone and texts it; the same answer for every phone.
    CodeResendThrottled when the phone had a code within the resend interval; SmsUnavailable
    (a TransientError: 503) when the gateway does not take the text, and then nothing is kept.
    """
    purpose = Purpose(purpose)
    rules, now = deps.code_rules, deps.clock()
    dao_lock_phone_codes(uow.session, phone)
    rules.check_resend(dao_last_code_sent_at(uow.session, phone), now)
    code = new_code()
    dao_replace_phone_code(
        uow.session,
        phone=phone,
        purpose=purpose,
        code_hmac=code_hmac(deps.code_key, phone=phone, purpose=purpose, code=code),
        now=now,
        expires_at=now + rules.ttl,
    )
    if random.random() < SWEEP_PROBABILITY:
        dao_delete_phone_codes_before(uow.session, now - KEEP_EXPIRED_CODES)
    if purpose is Purpose.REGISTER or _citizen_has_account(uow, phone):
        deps.sms.send(phone, text_for(purpose, code, int(rules.ttl.total_seconds())))
        log.info("%s code texted to %s", purpose, mask_phone(phone))
    return {
        "expires_in": int(rules.ttl.total_seconds()),
        "resend_after": int(rules.resend_interval.total_seconds()),
    }


def _citizen_has_account(uow: UnitOfWork, phone: str) -> bool:
    # Staff reset their passwords at the counter (sscardctl), never by text.
    account = dao_get_account_by_phone(uow.session, phone)
    return account is not None and account.role == CITIZEN


def check_phone_code(
    uow: UnitOfWork, deps: Dependencies, *, phone: str, purpose: str, code: str
) -> ProvenCode | None:
    """The code's row when `code` is the phone's live code for `purpose`; None otherwise, and
    a wrong try counts against the code (the caller commits either way)."""
    try:
        purpose = Purpose(purpose)
    except ValueError:
        return None
    dao_lock_phone_codes(uow.session, phone)
    row = dao_get_phone_code(uow.session, phone, purpose)
    if row is None:
        return None
    stored = StoredCode(row.code_hmac, row.expires_at, row.failed_attempts)
    if not stored.alive(deps.code_rules, deps.clock()):
        return None
    if not stored.matches(code_hmac(deps.code_key, phone=phone, purpose=purpose, code=code)):
        dao_count_code_failure(uow.session, row.id)
        log.info("wrong %s code for %s", purpose, mask_phone(phone))
        return None
    return ProvenCode(row.id, row.code_hmac)


def use_phone_code(uow: UnitOfWork, deps: Dependencies, code: ProvenCode) -> None:
    """Marks the proven code used, in the caller's transaction; CodeInvalid when a concurrent
    request used it first or a newer code replaced it."""
    if not dao_use_phone_code(uow.session, code.code_id, code.code_hmac, deps.clock()):
        raise code_invalid()
