"""Partner banks and their outlets: what a bank code may look like, and an outlet's fields."""

from __future__ import annotations

from dataclasses import dataclass

from shared.bank_codes import BANK_CODE_RULE, is_bank_code, normalise_bank_code
from shared.errors import InvalidInput

# Bank codes become routing keys and queue names (`print.<code>`, `bank.<code>.<status>`):
# no dots, no wildcards; upper-cased at every entry (shared.bank_codes).
OUTLET_FIELDS = ("bank_code", "name", "district", "address", "active")


@dataclass(frozen=True)
class OutletFields:
    bank_code: str
    name: str
    district: str
    address: str
    active: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "bank_code", normalise_bank_code(self.bank_code))


def validate_bank_code(bank_code: str) -> str:
    """The code in capitals; InvalidInput when it breaks the rule."""
    bank_code = normalise_bank_code(bank_code)
    if not is_bank_code(bank_code):
        raise InvalidInput(
            f"A bank code is {BANK_CODE_RULE}", errors={"bank_code": [BANK_CODE_RULE]}
        )
    return bank_code
