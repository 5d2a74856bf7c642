"""Access tokens: what they claim, and how a service verifies one."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from shared.errors import TransientError, Unauthorized

CITIZEN = "citizen"
REVIEWER = "reviewer"
BANK_OPERATOR = "bank_operator"
INTEGRATOR = "integrator"
ADMIN = "admin"
# Not a person: another sscard service calling an internal endpoint.
SERVICE = "service"
ROLES = (CITIZEN, REVIEWER, BANK_OPERATOR, INTEGRATOR, ADMIN, SERVICE)

ISSUER = "sscard-registration"
ALLOWED_ALGORITHMS = ("EdDSA", "RS256")


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: tuple[str, ...]
    bank_code: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_any(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_service(self) -> bool:
        return SERVICE in self.roles


class JwksClient:
    """The registration service's public keys, cached; refreshed when a token names a key id
    we have not seen (a rotation), but at most every `min_refresh_interval` seconds so a
    flood of forged kids cannot turn into a flood of requests."""

    def __init__(
        self,
        url: str,
        *,
        max_age: float = 600.0,
        min_refresh_interval: float = 5.0,
        timeout: float = 3.0,
    ) -> None:
        self.url = url
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        try:
            response = requests.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise TransientError(f"cannot fetch signing keys from {self.url}: {exc}") from exc
        self._keys = {key["kid"]: jwt.PyJWK(key) for key in keys if "kid" in key}
        self._fetched_at = time.monotonic()

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > self.max_age or (kid not in self._keys and age > self.min_refresh_interval):
                self._refresh()
            return self._keys.get(kid)


class TokenVerifier:
    def __init__(self, jwks: JwksClient, *, leeway: int = 10) -> None:
        self.jwks = jwks
        self.leeway = leeway

    def verify(self, token: str) -> Principal:
        """A Principal for a valid token; Unauthorized for anything else, with no detail an
        attacker could use beyond "this token is not accepted"."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The access token is malformed.") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS or not header.get("kid"):
            raise Unauthorized("The access token is not accepted.")
        key = self.jwks.key(str(header["kid"]))
        if key is None:
            raise Unauthorized("The access token is signed by an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[key.algorithm_name],
                issuer=ISSUER,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The access token has expired.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The access token is not valid.") from None
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(role in ROLES for role in roles):
            raise Unauthorized("The access token carries unknown roles.")
        return Principal(
            subject=str(claims["sub"]),
            roles=tuple(roles),
            bank_code=claims.get("bank_code"),
            claims=claims,
        )


def issue_token(
    signing_key,
    *,
    subject: str,
    roles: list[str],
    ttl_seconds: int,
    bank_code: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Signs an access token. Used by the registration service and by test fixtures."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "roles": roles,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        **(extra or {}),
    }
    if bank_code:
        claims["bank_code"] = bank_code
    return jwt.encode(
        claims, signing_key.private_key, algorithm="EdDSA", headers={"kid": signing_key.kid}
    )
