"""The resident identity number (GB 11643-1999), which is also the social security number.

A national standard rather than a business rule of any one service: registration, application
and verification all check it the same way, so it lives here once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
# ASCII digits only: `\d` also matches other scripts' digits, which NFKC leaves as they are.
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")

# Province-level prefixes of GB/T 2260 region codes, old ones included: the rest of the code is
# checked leniently because counties are renamed and merged while old numbers stay valid.
PROVINCE_CODES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
        "91",
    }
)


def check_character(body: str) -> str:
    """ISO 7064 MOD 11-2 over the 17 body digits."""
    if len(body) != len(WEIGHTS):
        raise ValueError("the body of an ID number is 17 digits")
    # map() rather than a generator: every progress look-up by ID number computes this.
    return CHECK_CHARACTERS[sum(map(mul, map(int, body), WEIGHTS)) % 11]


@dataclass(frozen=True)
class ResidentId:
    number: str  # normalised: 18 characters, upper-case X

    @property
    def region_code(self) -> str:
        return self.number[:6]

    @property
    def birth_date(self) -> date:
        return date(int(self.number[6:10]), int(self.number[10:12]), int(self.number[12:14]))

    @property
    def gender(self) -> str:
        return "male" if int(self.number[16]) % 2 else "female"


class InvalidResidentId(ValueError):
    """Why a number is not a valid resident identity number, in words a person understands."""


def normalise(raw: str) -> str:
    """One spelling per person: NFKC turns full-width digits and letters (１１０１…Ｘ, typed
    on a Chinese keyboard) into ASCII, and a final x is taken as X. Digits of other scripts
    survive NFKC and are then refused by the shape check."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def parse_resident_id(raw: str, *, today: date | None = None) -> ResidentId:
    number = normalise(raw)
    if len(number) != 18:
        raise InvalidResidentId("An ID number has 18 characters.")
    if not _SHAPE.match(number):
        raise InvalidResidentId("An ID number is 17 digits followed by a digit or X.")
    if number[:2] not in PROVINCE_CODES or number[2:6] == "0000":
        raise InvalidResidentId("The region code is not a known region.")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidResidentId("The birth date in the ID number is not a real date.") from None
    if born > (today or date.today()) or born.year < 1880:
        raise InvalidResidentId("The birth date in the ID number is impossible.")
    if check_character(number[:17]) != number[17]:
        raise InvalidResidentId("The check character does not match; please check for a typo.")
    return ResidentId(number)


def is_valid_resident_id(raw: str) -> bool:
    try:
        parse_resident_id(raw)
    except InvalidResidentId:
        return False
    return True
