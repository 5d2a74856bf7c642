"""Remembers tokens already verified, until they expire.

A citizen's app or a channel polls with the same access token for its whole lifetime (15
minutes); verifying its EdDSA signature and claims again on every poll costs more than the
database read behind the request. A token string that verified once verifies again until its
`exp`, so the result is kept, per process, keyed by the exact token string; only whether its
account was revoked since (shared.auth.revocations) is asked again on every use. Invalid
tokens are never remembered.
"""

from __future__ import annotations

import threading
import time

from shared.auth.tokens import Principal, TokenVerifier


class CachingVerifier:
    def __init__(self, verifier: TokenVerifier, *, max_entries: int = 50_000) -> None:
        self.verifier = verifier
        self.max_entries = max_entries
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        entry = self._verified.get(token)
        if entry is not None and time.time() < entry[1]:
            refuse_if_revoked = getattr(self.verifier, "refuse_if_revoked", None)
            if refuse_if_revoked is not None:
                refuse_if_revoked(entry[0])
            return entry[0]
        principal = self.verifier.verify(token)
        expires = float(principal.claims.get("exp", 0))
        with self._lock:
            if len(self._verified) >= self.max_entries:
                self._forget_expired_or_oldest()
            self._verified[token] = (principal, expires)
        return principal

    def _forget_expired_or_oldest(self) -> None:
        now = time.time()
        expired = [token for token, (_, expires) in self._verified.items() if expires <= now]
        for token in expired:
            del self._verified[token]
        while len(self._verified) >= self.max_entries:
            del self._verified[next(iter(self._verified))]
