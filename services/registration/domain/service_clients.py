"""Who may trade a service secret for a service token: sscard's own services and sscardctl,
each with its own secret (`<NAME>_SERVICE_SECRET`), and only with that one."""

from __future__ import annotations

from shared.config import SERVICES, ServiceCredential
from shared.errors import Unauthorized

SSCARDCTL = "sscardctl"
SERVICE_CLIENTS = frozenset((*SERVICES, SSCARDCTL))
# Compared against when the name is unknown, so that an unknown name costs what a wrong secret
# does.
_NOBODY = ServiceCredential("0" * 64)


def check_service_client(
    name: str | None, given_secret: str, credential: ServiceCredential | None
) -> str:
    """The client's name when it may have a service token: a known client presenting its own
    secret. Unauthorized otherwise (one answer for an unknown name, a client without a
    credential and a wrong secret). Compared in constant time."""
    known = name in SERVICE_CLIENTS and credential is not None
    matches = (credential if known and credential else _NOBODY).matches(given_secret)
    if not (known and matches):
        raise Unauthorized("Unknown service or wrong secret.")
    assert name is not None
    return name
