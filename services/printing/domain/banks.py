"""Partner banks and their outlets: what a bank code may look like, and an outlet's fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import InvalidInput

# Bank codes become routing keys and queue names (`print.<code>`, `bank.<code>.<status>`):
# no dots, no wildcards.
BANK_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
OUTLET_FIELDS = ("bank_code", "name", "district", "address", "active")


@dataclass(frozen=True)
class OutletFields:
    bank_code: str
    name: str
    district: str
    address: str
    active: bool = True


def validate_bank_code(bank_code: str) -> str:
    if not BANK_CODE_PATTERN.match(bank_code):
        raise InvalidInput(
            "A bank code is 2 to 16 capital letters or digits, starting with a letter.",
            errors={"bank_code": ["2 to 16 capital letters or digits, starting with a letter."]},
        )
    return bank_code
