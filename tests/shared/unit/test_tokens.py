"""Any service's verifier against tokens good and bad (docs/contract.md §2: asymmetric, kid)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth.keys import KeyRing, SigningKey
from shared.auth.tokens import CITIZEN, JwksClient, TokenVerifier, issue_token
from shared.errors import Unauthorized


@pytest.fixture
def verifier(token_authority):
    return TokenVerifier(JwksClient(token_authority.url + "/.well-known/jwks.json"), leeway=0)


def test_a_fresh_token_is_accepted(verifier, token_authority):
    principal = verifier.verify(token_authority.token([CITIZEN], subject="acc-1"))
    assert principal.subject == "acc-1"
    assert principal.roles == (CITIZEN,)


def test_an_expired_token_is_refused(verifier, token_authority):
    token = issue_token(
        token_authority.keys.current(), subject="a", roles=[CITIZEN], ttl_seconds=-5
    )
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(verifier, token_authority):
    impostor = SigningKey(token_authority.keys.current().kid, Ed25519PrivateKey.generate())
    token = issue_token(impostor, subject="a", roles=[CITIZEN], ttl_seconds=60)
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_alg_none_is_refused(verifier, token_authority):
    kid = token_authority.keys.current().kid
    token = jwt.encode(
        {
            "sub": "a",
            "roles": ["admin"],
            "iss": "sscard-registration",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        key=None,
        algorithm="none",
        headers={"kid": kid},
    )
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_an_unknown_kid_is_refused(verifier, token_authority, tmp_path):
    stranger = KeyRing(tmp_path / "stranger").current()
    token = issue_token(stranger, subject="a", roles=[CITIZEN], ttl_seconds=60)
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier.verify(token)


def test_tampered_claims_are_refused(verifier, token_authority):
    header, payload, signature = token_authority.token([CITIZEN], subject="a").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_after_rotation_a_token_signed_by_the_previous_key_still_verifies(tmp_path):
    from shared.testing.tokens import TokenAuthority

    authority = TokenAuthority(tmp_path / "keys").start()
    try:
        verifier = TokenVerifier(
            JwksClient(authority.url + "/.well-known/jwks.json", min_refresh_interval=0)
        )
        before = authority.token([CITIZEN], subject="a")
        verifier.verify(before)
        authority.keys.rotate()
        after = authority.token([CITIZEN], subject="a")
        assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
        assert verifier.verify(after).subject == "a"  # new kid → JWKS refreshed
        assert verifier.verify(before).subject == "a"
    finally:
        authority.stop()
