"""Registration's own side of tokens: what it signs, and how it verifies its own tokens from
the key ring on disk, including a rotation made by another process."""

from __future__ import annotations

import jwt
import pytest

from services.registration.adapters.signing_keys import KeyRingJwks, TokenIssuer
from shared.auth.keys import KeyRing
from shared.auth.tokens import TokenVerifier
from shared.errors import Unauthorized


@pytest.fixture
def keys(tmp_path):
    return KeyRing(tmp_path / "jwt")


@pytest.fixture
def issuer(keys):
    return TokenIssuer(keys, access_ttl_seconds=900, service_ttl_seconds=300)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_only_bank_operators_carry_a_bank_code(issuer):
    operator = claims_of(issuer.for_account("a-1", "bank_operator", "ICBC")["access_token"])
    assert operator["bank_code"] == "ICBC"
    reviewer = claims_of(issuer.for_account("a-2", "reviewer", "ICBC")["access_token"])
    assert "bank_code" not in reviewer


def test_service_tokens_name_the_service_and_live_shorter(issuer):
    issued = issuer.for_service("printing")
    claims = claims_of(issued["access_token"])
    assert (claims["sub"], claims["roles"]) == ("service:printing", ["service"])
    assert issued["expires_in"] == claims["exp"] - claims["iat"] == 300


def test_the_jwks_lists_current_then_previous_public_keys(keys, issuer):
    first = keys.current()
    second = keys.rotate()
    assert [key["kid"] for key in issuer.jwks()["keys"]] == [second.kid, first.kid]
    assert all("d" not in key for key in issuer.jwks()["keys"])


def test_a_rotation_by_another_process_is_seen_at_once(tmp_path, issuer, keys):
    verifier = TokenVerifier(KeyRingJwks(keys), leeway=0)
    before = issuer.for_account("a-1", "citizen", None)["access_token"]
    assert verifier.verify(before).subject == "a-1"
    KeyRing(tmp_path / "jwt").rotate()  # sscardctl keys rotate, elsewhere
    after = issuer.for_account("a-1", "citizen", None)["access_token"]
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    assert verifier.verify(after).subject == verifier.verify(before).subject == "a-1"


def test_a_retired_key_no_longer_verifies(keys, issuer):
    verifier = TokenVerifier(KeyRingJwks(keys, max_age=0), leeway=0)
    old = issuer.for_account("a-1", "citizen", None)["access_token"]
    for _ in range(keys.keep_previous + 1):
        keys.rotate()
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier.verify(old)
