"""Card numbers and card identification codes.

- The card serial (卡号) is 9 characters: a letter and 8 digits, assigned per physical card —
  a reprint gets a new one, and a serial is never given to a second card.
- The card identification code (卡识别码), carried in the chip, is 32 characters: the 6-digit
  region code, the country code `D156`, the issue date, the card serial, 4 random characters
  and an ISO 7064 MOD 37,36 check character over everything before it.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta, timezone

SERIAL_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read as 1 and 0
SERIAL_PATTERN = re.compile(r"^[A-HJ-NP-Z]\d{8}$")
COUNTRY_CODE = "D156"
IDENTIFICATION_CODE_LENGTH = 32
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Cards are issued in China; the issue date is the date there (UTC+8 all year).
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
VALIDITY_YEARS = 10


def new_card_serial() -> str:
    return secrets.choice(SERIAL_LETTERS) + "".join(secrets.choice("0123456789") for _ in range(8))


def mod37_36_check(text: str) -> str:
    """ISO 7064 MOD 37,36 (hybrid system) check character over digits and capital letters."""
    modulus = 36
    product = modulus
    for character in text:
        total = (product + _ALPHANUMERIC.index(character)) % modulus or modulus
        product = (total * 2) % (modulus + 1)
    return _ALPHANUMERIC[(modulus + 1 - product) % modulus]


def is_valid_identification_code(code: str) -> bool:
    return (
        len(code) == IDENTIFICATION_CODE_LENGTH
        and all(character in _ALPHANUMERIC for character in code)
        and code[6:10] == COUNTRY_CODE
        and mod37_36_check(code[:-1]) == code[-1]
    )


def new_identification_code(region_code: str, issue_date: date, card_serial: str) -> str:
    if not (len(region_code) == 6 and region_code.isdigit()):
        raise ValueError("the region code is 6 digits")
    if not SERIAL_PATTERN.match(card_serial):
        raise ValueError("not a card serial")
    random_part = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(4))
    body = f"{region_code}{COUNTRY_CODE}{issue_date:%Y%m%d}{card_serial}{random_part}"
    return body + mod37_36_check(body)


def issue_date_now(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(CHINA_STANDARD_TIME).date()


def expiry_date(issued: date) -> date:
    """Valid for ten years; a card issued on 29 February expires on 28 February."""
    try:
        return issued.replace(year=issued.year + VALIDITY_YEARS)
    except ValueError:
        return issued.replace(year=issued.year + VALIDITY_YEARS, day=28)
