"""Who may trade the internal secret for a service token: sscard's own services and sscardctl,
and only with the right secret."""

from __future__ import annotations

import hmac

from shared.config import SERVICES
from shared.errors import Unauthorized

SSCARDCTL = "sscardctl"
SERVICE_CLIENTS = frozenset((*SERVICES, SSCARDCTL))


def check_service_client(name: str | None, given_secret: str, expected_secret: str) -> str:
    """The client's name when it may have a service token; Unauthorized otherwise (one answer
    for an unknown name and a wrong secret). The secret is compared in constant time."""
    secret_matches = hmac.compare_digest(given_secret.encode(), expected_secret.encode())
    if not secret_matches or name not in SERVICE_CLIENTS:
        raise Unauthorized("Unknown service or wrong secret.")
    return name
