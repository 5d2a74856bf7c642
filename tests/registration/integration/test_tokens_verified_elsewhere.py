"""Another service verifies registration's tokens the way every sscard service does: with
shared.auth.tokens.TokenVerifier and a JwksClient fetching the JWKS over real HTTP."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.registration import deps
from shared.auth.keys import KeyRing, SigningKey
from shared.auth.tokens import CITIZEN, JwksClient, TokenVerifier, issue_token
from shared.errors import Unauthorized
from sscardctl import cli
from tests.registration.factories import bearer, log_in, ready_citizen, registered_token


@pytest.fixture
def verifier(live_url):
    """What the application service builds, pointed at the running registration app."""
    return TokenVerifier(
        JwksClient(live_url + "/.well-known/jwks.json", min_refresh_interval=0), leeway=0
    )


@pytest.fixture
def signing_key(app) -> SigningKey:
    with app.app_context():
        return deps.current().keys.current()


def test_the_jwks_holds_public_keys_only_and_may_be_cached_briefly(live_url, signing_key):
    response = requests.get(live_url + "/.well-known/jwks.json", timeout=5)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    (key,) = response.json()["keys"]
    assert key == signing_key.public_jwk()
    assert "d" not in key


def test_a_fresh_token_is_accepted(client, verifier):
    token, _, account = registered_token(client)
    principal = verifier.verify(token)
    assert principal.subject == account["account_id"]
    assert principal.roles == (CITIZEN,)
    assert principal.bank_code is None


def test_an_expired_token_is_refused(verifier, signing_key):
    token = issue_token(signing_key, subject="someone", roles=[CITIZEN], ttl_seconds=-60)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_a_token_signed_by_another_key_is_refused(verifier, signing_key):
    impostor = SigningKey(signing_key.kid, Ed25519PrivateKey.generate())
    token = issue_token(impostor, subject="someone", roles=[CITIZEN], ttl_seconds=60)
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_alg_none_is_refused(verifier, signing_key):
    now = int(time.time())
    claims = {"iss": "sscard-registration", "sub": "x", "roles": ["admin"], "iat": now}
    token = jwt.encode(
        {**claims, "exp": now + 60}, key=None, algorithm="none", headers={"kid": signing_key.kid}
    )
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_an_unknown_kid_is_refused(verifier, tmp_path):
    stranger = KeyRing(tmp_path / "stranger").current()
    token = issue_token(stranger, subject="someone", roles=[CITIZEN], ttl_seconds=60)
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier.verify(token)


def test_tampered_claims_are_refused(client, verifier):
    token, _, _ = registered_token(client)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        verifier.verify(f"{header}.{forged}.{signature}")
    # The registration service's own endpoints refuse it just the same.
    assert (
        client.get(
            "/api/v1/accounts/me", headers=bearer(f"{header}.{forged}.{signature}")
        ).status_code
        == 401
    )


def test_after_rotation_tokens_signed_before_still_verify(
    client, verifier, settings, monkeypatch, capsys, live_url
):
    old_token, body, _ = registered_token(client)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert verifier.verify(old_token)

    monkeypatch.setenv("SSCARD_VAR_DIR", str(settings.var_dir))
    assert cli.main(["keys", "rotate", "--service", "registration"]) == 0
    assert "now signing with key" in capsys.readouterr().out

    new_token = log_in(client, body["phone"]).get_json()["access_token"]
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    kids = [
        key["kid"]
        for key in requests.get(live_url + "/.well-known/jwks.json", timeout=5).json()["keys"]
    ]
    assert kids == [new_kid, old_kid]
    # The verifier had cached the old key set; the new kid makes it fetch again.
    assert verifier.verify(new_token).subject == verifier.verify(old_token).subject
    for token in (old_token, new_token):
        assert client.get("/api/v1/accounts/me", headers=bearer(token)).status_code == 200


def test_keys_older_than_the_kept_previous_ones_stop_verifying(client, app, verifier):
    token, _, _ = registered_token(client)
    with app.app_context():
        keys = deps.current().keys
        for _ in range(keys.keep_previous + 1):
            keys.rotate()
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier.verify(token)


def test_register_and_log_in_over_real_http(app, live_url, verifier):
    body = ready_citizen(app.test_client())
    registered = requests.post(live_url + "/api/v1/accounts", json=body, timeout=5)
    assert registered.status_code == 201
    response = requests.post(
        live_url + "/api/v1/sessions",
        json={"phone": body["phone"], "password": body["password"]},
        timeout=5,
    )
    assert response.status_code == 200
    principal = verifier.verify(response.json()["access_token"])
    assert principal.subject == registered.json()["account_id"]
