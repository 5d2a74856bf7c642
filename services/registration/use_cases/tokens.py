"""Service tokens for sscard's own services, and the public keys that verify every token."""

from __future__ import annotations

from typing import Any

from services.registration.deps import Dependencies
from services.registration.domain.service_clients import check_service_client


def issue_service_token(deps: Dependencies, *, client: str | None, secret: str) -> dict[str, Any]:
    """A short-lived token with the role `service` naming the client, for a known client
    presenting its own secret; Unauthorized otherwise."""
    credential = deps.settings.service_credential(client) if client else None
    name = check_service_client(client, secret, credential)
    return deps.tokens.for_service(name)


def verification_keys(deps: Dependencies) -> dict[str, list[dict[str, str]]]:
    """The JWKS: the current signing key and the previous ones, newest first."""
    return deps.tokens.jwks()
