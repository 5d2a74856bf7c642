"""The registration service's signing key ring (on disk, e.g. a mounted secret) and what it does
with it: signs access tokens with the current key and publishes the ring's public keys (JWKS),
current and previous, so every service can verify them and a rotation logs nobody out."""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt

from services.registration import config
from shared.auth.keys import KeyRing
from shared.auth.tokens import BANK_OPERATOR, SERVICE, issue_token, service_subject
from shared.bank_codes import normalise_bank_code
from shared.config import Settings

TOKEN_TYPE = "Bearer"  # noqa: S105 — the OAuth token type, not a secret


def signing_keys(settings: Settings) -> KeyRing:
    """The key ring that signs registration's tokens (`JWT_KEYS_DIR`, e.g. a mounted secret)."""
    options = config.options(settings)
    return KeyRing(options.jwt_keys_dir, keep_previous=options.keep_previous_keys)


class TokenIssuer:
    def __init__(self, keys: KeyRing, *, access_ttl_seconds: int, service_ttl_seconds: int):
        self.keys = keys
        self.access_ttl_seconds = access_ttl_seconds
        self.service_ttl_seconds = service_ttl_seconds

    def _issue(
        self,
        subject: str,
        roles: list[str],
        ttl: int,
        bank_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        token = issue_token(
            self.keys.current(),
            subject=subject,
            roles=roles,
            ttl_seconds=ttl,
            bank_code=bank_code,
            extra=extra,
        )
        return {"access_token": token, "token_type": TOKEN_TYPE, "expires_in": ttl}

    def for_account(self, account_id: str, role: str, bank_code: str | None) -> dict[str, Any]:
        return self._issue(
            account_id,
            [role],
            self.access_ttl_seconds,
            # Upper-cased here too, for operators recorded before the one rule for bank codes.
            normalise_bank_code(bank_code) if role == BANK_OPERATOR and bank_code else None,
        )

    def for_service(self, name: str) -> dict[str, Any]:
        return self._issue(
            service_subject(name), [SERVICE], self.service_ttl_seconds, extra={"service": name}
        )

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk() for key in self.keys.verification_keys()]}


class KeyRingJwks:
    """What `shared.auth.tokens.TokenVerifier` asks a JwksClient for, answered from the key ring
    on disk: the registration service verifies its own tokens without calling itself.

    Re-read whenever a token names a kid not in the cache (another process rotated the ring;
    reading a few small files costs less than a request), and at least every `max_age`
    seconds so that retired keys drop out.
    """

    def __init__(self, keys: KeyRing, *, max_age: float = 30.0):
        self.keys = keys
        self.max_age = max_age
        self._cache: dict[str, jwt.PyJWK] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            if kid not in self._cache or time.monotonic() - self._loaded_at > self.max_age:
                self._cache = {
                    key.kid: jwt.PyJWK(key.public_jwk()) for key in self.keys.verification_keys()
                }
                self._loaded_at = time.monotonic()
            return self._cache.get(kid)
