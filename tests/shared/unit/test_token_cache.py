"""Verified tokens are remembered until they expire; anything else is verified every time."""

from __future__ import annotations

import time

import pytest

from shared.auth.token_cache import CachingVerifier
from shared.auth.tokens import Principal
from shared.errors import Unauthorized


class CountingVerifier:
    def __init__(self, lifetime: float = 60) -> None:
        self.calls = 0
        self.lifetime = lifetime

    def verify(self, token: str) -> Principal:
        self.calls += 1
        if token.startswith("bad"):
            raise Unauthorized("The access token is not valid.")
        exp = time.time() + self.lifetime
        return Principal(token, ("citizen",), claims={"exp": exp})


def test_a_token_is_verified_once_until_it_expires():
    inner = CountingVerifier()
    verifier = CachingVerifier(inner)
    assert verifier.verify("a").subject == verifier.verify("a").subject == "a"
    assert inner.calls == 1
    verifier.verify("b")
    assert inner.calls == 2


def test_an_expired_token_is_verified_again():
    inner = CountingVerifier(lifetime=-1)
    verifier = CachingVerifier(inner)
    verifier.verify("a")
    verifier.verify("a")
    assert inner.calls == 2


def test_invalid_tokens_are_never_remembered():
    inner = CountingVerifier()
    verifier = CachingVerifier(inner)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify("bad-token")
    assert inner.calls == 2


def test_the_cache_stays_bounded():
    verifier = CachingVerifier(CountingVerifier(), max_entries=10)
    for index in range(25):
        verifier.verify(f"token-{index}")
    assert len(verifier._verified) <= 10
    assert "token-24" in verifier._verified
