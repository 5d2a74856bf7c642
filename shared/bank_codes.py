"""One rule for bank codes everywhere (registration's bank operators, printing's banks and
outlets, the routing keys and queue names `print.<code>`, `bank.<code>.<status>`, sscardctl):
2 to 16 letters or digits, starting with a letter, in capitals. Every entry point upper-cases
what it is given (`icbc` is `ICBC`) and then refuses anything else; no dots, no wildcards."""

from __future__ import annotations

import re

BANK_CODE_PATTERN = r"^[A-Z][A-Z0-9]{1,15}$"
BANK_CODE_RULE = "2 to 16 letters or digits, starting with a letter (kept in capitals)."
_BANK_CODE = re.compile(BANK_CODE_PATTERN)


def normalise_bank_code(bank_code: str) -> str:
    """`" icbc "` → `ICBC`. ASCII only: a non-ASCII letter stays as it is and fails the rule."""
    return "".join(c.upper() if c.isascii() else c for c in bank_code.strip())


def is_bank_code(bank_code: str) -> bool:
    """Whether an already normalised code follows the rule."""
    return bool(_BANK_CODE.match(bank_code))
