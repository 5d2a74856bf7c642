"""The identity registry, as registration asks it (does it know this ID number under this
name?): with its own timeouts and retries. Unreachable or erring → TransientError (503)."""

from __future__ import annotations

import logging

from shared.config import Settings
from shared.peers.identity_registry import IdentityRegistryClient


def identity_registry(settings: Settings) -> IdentityRegistryClient:
    # The registry is asked at /registry/v1/people/{id_number}, and urllib3 logs every URL it
    # requests at DEBUG: never at DEBUG here, so no log level puts ID numbers in the logs.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)
    return IdentityRegistryClient(
        settings.identity_registry_url,
        timeout=(
            settings.get_float("REGISTRY_CONNECT_TIMEOUT", 2.0),
            settings.get_float("REGISTRY_READ_TIMEOUT", 5.0),
        ),
        retries=settings.get_int("REGISTRY_RETRIES", 2),
    )
