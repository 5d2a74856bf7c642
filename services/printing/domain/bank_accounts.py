"""The co-branded debit account's number (a UnionPay PAN) as banks report it.

Full PANs are protected data: only a masked form — the first 6 and last 4 digits — is ever
stored or shown. A bank that sends the full number by mistake has it masked on arrival. Luhn
is only a warning, because some real cards fail it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import InvalidInput

_FULL = re.compile(r"^\d{16,19}$")
_MASKED = re.compile(r"^(\d{0,6})(\*+)(\d{0,4})$")


@dataclass(frozen=True)
class MaskedAccount:
    masked: str
    warnings: tuple[str, ...] = ()


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_pan(digits: str) -> str:
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def masked_bank_account(reported: str) -> MaskedAccount:
    """Accepts `6222021234567890123` or `622202*********0123`; InvalidInput for anything else
    (a value that reveals more than 6 + 4 digits, or is not 16–19 characters)."""
    value = reported.replace(" ", "")
    if _FULL.match(value):
        warnings = () if luhn_valid(value) else ("bank account number fails the Luhn check",)
        if not value.startswith("62"):
            warnings = (*warnings, "bank account number is not a UnionPay (62…) number")
        return MaskedAccount(mask_pan(value), warnings)
    if 16 <= len(value) <= 19 and _MASKED.match(value):
        return MaskedAccount(value)
    raise InvalidInput(
        "The bank account number must be 16 to 19 digits, or masked as first 6 + * + last 4.",
        errors={"bank_account_masked": ["Not a (masked) bank account number."]},
    )
