"""What an account may still do: staff accounts an operator disabled, citizen accounts locked
because another account proved their ID number, and which tokens stop working.

No squatting: an ID number is bound to an account only once that account's person has passed
the face check against the identity registry (an application of theirs was approved). Until
then any number of accounts may carry the same ID number, so whoever registered another
person's number never keeps that person from registering; when one of them is proven, every
other citizen account with that number not yet proven is locked.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from shared.auth.tokens import CITIZEN
from shared.errors import Forbidden

# The event a locked account publishes (shared.messaging.events holds its schema); notification
# texts the account's phone.
ACCOUNT_LOCKED = "account.locked"
IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT = "identity_proven_by_another_account"
LOCK_REASONS = (IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT,)

ACCOUNT_DISABLED_CODE = "account_disabled"
ACCOUNT_LOCKED_CODE = "account_locked"

GENERATED_PASSWORD_LENGTH = 16
# No look-alikes (0/O, 1/l/I), so a password read out at a counter is typed right.
_PASSWORD_ALPHABET = "".join(
    char for char in string.ascii_letters + string.digits if char not in "0O1lI"
)


class AccountDisabled(Forbidden):
    title, slug = "Account disabled", "account-disabled"


class AccountLocked(Forbidden):
    title, slug = "Account locked", "account-locked"


@dataclass(frozen=True)
class AccountState:
    """The parts of an account that decide whether it may log in and keep its tokens."""

    account_id: str
    role: str
    disabled_at: datetime | None = None
    locked_at: datetime | None = None
    lock_reason: str | None = None
    identity_proven_at: datetime | None = None


def login_refusal(state: AccountState) -> Forbidden | None:
    """Why an account whose password was right may still not log in; None when it may. Asked
    only after the password proved right, so the answer tells nothing to a guesser."""
    if state.disabled_at is not None:
        return AccountDisabled(
            "This account has been disabled; ask an administrator.",
            extra={"code": ACCOUNT_DISABLED_CODE},
        )
    if state.locked_at is not None:
        return AccountLocked(
            "This account is locked: another account proved that this ID number is its own "
            "(its holder passed the face check against the identity registry). If that person "
            "is you, bring your ID card to a service counter.",
            extra={"code": ACCOUNT_LOCKED_CODE, "reason": state.lock_reason},
        )
    return None


def accounts_to_lock(proven: AccountState, same_id_number: list[AccountState]) -> list[str]:
    """The other citizen accounts with the proven account's ID number that lose it: neither
    proven themselves nor locked already."""
    return [
        other.account_id
        for other in same_id_number
        if other.account_id != proven.account_id
        and other.role == CITIZEN
        and other.identity_proven_at is None
        and other.locked_at is None
    ]


def generated_password() -> str:
    """A new password for a staff member, printed once by `sscardctl staff reset-password`."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH))
