"""The registration service's HTTP resources, one blueprint each."""

from services.registration.api import (
    accounts,
    identity,
    jwks,
    password_resets,
    phone_codes,
    revocations,
    service_tokens,
    sessions,
)

BLUEPRINTS: list = [
    accounts.blp,
    phone_codes.blp,
    password_resets.blp,
    sessions.blp,
    service_tokens.blp,
]
# Served at the root, outside /api/v1.
ROOT_BLUEPRINTS: list = [jwks.blp, identity.blp, revocations.blp]
