"""Authentication and authorisation: asymmetric JWTs issued by the registration service,
verified everywhere else against its JWKS; roles; service tokens for internal calls."""

from shared.auth.tokens import (
    ADMIN,
    BANK_OPERATOR,
    CITIZEN,
    INTEGRATOR,
    REVIEWER,
    ROLES,
    SERVICE,
    Principal,
    TokenVerifier,
)

__all__ = [
    "ADMIN",
    "BANK_OPERATOR",
    "CITIZEN",
    "INTEGRATOR",
    "REVIEWER",
    "ROLES",
    "SERVICE",
    "Principal",
    "TokenVerifier",
]
