"""Access tokens: what they claim, and how a service verifies one."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from shared.auth.revocations import Revocations
from shared.errors import TransientError, Unauthorized

CITIZEN = "citizen"
REVIEWER = "reviewer"
BANK_OPERATOR = "bank_operator"
INTEGRATOR = "integrator"
ADMIN = "admin"
# Not a person: another sscard service calling an internal endpoint.
SERVICE = "service"
ROLES = (CITIZEN, REVIEWER, BANK_OPERATOR, INTEGRATOR, ADMIN, SERVICE)

log = logging.getLogger(__name__)

ISSUER = "sscard-registration"


def service_subject(name: str) -> str:
    """The subject of a service token: `service:<name>`."""
    return f"service:{name}"


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

    @property
    def service(self) -> str | None:
        """The calling service's name (`service` claim, subject `service:<name>`) for a service
        token; None for anyone else, and for a service token whose two disagree."""
        if not self.is_service:
            return None
        name = self.claims.get("service")
        if not isinstance(name, str) or self.subject != service_subject(name):
            return None
        return name


class JwksClient:
    """The registration service's public keys, cached; refreshed when a token names a key id
    we have not seen (a rotation), but at most every `min_refresh_interval` seconds so a
    flood of forged kids cannot turn into a flood of requests.

    A slow or unreachable registration service does not stop verification: past `max_age` the
    keys are refreshed in the background while the ones in hand keep verifying, up to
    `max_stale` seconds after they were fetched; only with no key set that fresh does a
    request wait for the fetch (and answer 503 when it fails)."""

    def __init__(
        self,
        url: str,
        *,
        max_age: float = 600.0,
        max_stale: float = 3600.0,
        min_refresh_interval: float = 5.0,
        timeout: float = 3.0,
    ) -> None:
        self.url = url
        self.max_age = max_age
        self.max_stale = max_stale
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at = float("-inf")
        self._lock = threading.Lock()

    def _age(self) -> float:
        return float("inf") if self._fetched_at is None else time.monotonic() - self._fetched_at

    def _refresh(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            response = requests.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise TransientError(f"cannot fetch signing keys from {self.url}: {exc}") from exc
        self._keys = {key["kid"]: jwt.PyJWK(key) for key in keys if "kid" in key}
        self._fetched_at = time.monotonic()

    def _refresh_in_background(self) -> None:
        try:
            self._refresh()
        except TransientError as exc:
            log.warning("keeping signing keys %.0f s old: %s", self._age(), exc)
        finally:
            self._lock.release()

    def key(self, kid: str) -> jwt.PyJWK | None:
        age = self._age()
        recently_tried = self._tried_recently()
        if kid in self._keys and age <= self.max_stale:
            if age > self.max_age and not recently_tried and self._lock.acquire(blocking=False):
                # Stale but usable: one thread fetches in the background, nobody waits.
                threading.Thread(
                    target=self._refresh_in_background, name="jwks", daemon=True
                ).start()
            return self._keys[kid]
        # An unknown kid (a rotation, or a forgery) or no usable keys: fetch now, at most every
        # min_refresh_interval seconds.
        with self._lock:
            stale = self._age() > self.max_stale
            if stale or (kid not in self._keys and not self._tried_recently()):
                self._refresh()
            return self._keys.get(kid)

    def _tried_recently(self) -> bool:
        return time.monotonic() - self._attempted_at < self.min_refresh_interval


class TokenVerifier:
    """Verifies a token's signature and claims, and (with `revocations`,
    shared.auth.revocations) refuses a token of an account revoked since it was issued."""

    def __init__(
        self, jwks: JwksClient, *, leeway: int = 10, revocations: Revocations | None = None
    ) -> None:
        self.jwks = jwks
        self.leeway = leeway
        self.revocations = revocations

    def refuse_if_revoked(self, principal: Principal) -> None:
        """Unauthorized when the token's account was disabled, locked or had its password reset
        after the token was issued. Service tokens are never revoked this way."""
        if self.revocations is None or principal.is_service:
            return
        if self.revocations.is_revoked(principal.subject, int(principal.claims.get("iat", 0))):
            raise Unauthorized("The access token has been revoked.")

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
        principal = Principal(
            subject=str(claims["sub"]),
            roles=tuple(roles),
            bank_code=claims.get("bank_code"),
            claims=claims,
        )
        self.refuse_if_revoked(principal)
        return principal


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
