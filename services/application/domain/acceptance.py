"""Acceptance numbers: the code a citizen reads aloud on the 12333 line or types into WeChat,
e.g. `SSC-20261125-7K3Q9M` — the day of submission (China time) and six characters from an
alphabet without the look-alikes 0/O and 1/I."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6
PREFIX = "SSC"
CHINA_TIME = timezone(timedelta(hours=8), "CST")
_SEPARATORS = re.compile(r"[\s\-]")
_SHAPE = re.compile(rf"^{PREFIX}-(\d{{8}})-([{ALPHABET}]{{{CODE_LENGTH}}})$")


def new_acceptance_number(submitted_at: datetime) -> str:
    """32⁶ ≈ 10⁹ codes per day; the database's unique constraint settles the rare clash."""
    day = submitted_at.astimezone(CHINA_TIME).strftime("%Y%m%d")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{PREFIX}-{day}-{code}"


def normalise_acceptance_number(raw: str) -> str | None:
    """What a person typed, as stored: case, spaces and missing hyphens forgiven. None when it
    cannot be an acceptance number at all."""
    compact = _SEPARATORS.sub("", raw).upper()
    if not compact.startswith(PREFIX) or len(compact) != len(PREFIX) + 8 + CODE_LENGTH:
        return None
    candidate = f"{PREFIX}-{compact[3:11]}-{compact[11:]}"
    return candidate if _SHAPE.match(candidate) else None
