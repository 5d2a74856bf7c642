"""The identity registry, as this service asks it: with its own timeouts and retries."""

from __future__ import annotations

from shared.config import Settings
from shared.peers.identity_registry import IdentityRegistryClient


def identity_registry(settings: Settings) -> IdentityRegistryClient:
    return IdentityRegistryClient(
        settings.identity_registry_url,
        timeout=(
            settings.get_float("REGISTRY_CONNECT_TIMEOUT", 2.0),
            settings.get_float("REGISTRY_READ_TIMEOUT", 5.0),
        ),
        retries=settings.get_int("REGISTRY_RETRIES", 2),
    )
