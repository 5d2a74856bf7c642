"""POST /api/v1/service-tokens, exercised by the client every service uses to call another."""

from __future__ import annotations

import base64

import jwt
import pytest

from shared.auth.service_tokens import ServiceTokenClient
from shared.auth.tokens import JwksClient, TokenVerifier
from shared.errors import TransientError
from tests.registration.factories import assert_problem


def basic(name: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()}


def test_a_service_gets_a_token_another_service_accepts(settings, live_url):
    client = ServiceTokenClient(live_url, "verification", settings.internal_secret())
    token = client.token()
    assert client.token() == token  # cached, not fetched per call
    principal = TokenVerifier(JwksClient(live_url + "/.well-known/jwks.json")).verify(token)
    assert principal.subject == "service:verification"
    assert principal.roles == ("service",)
    assert principal.is_service
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300


def test_sscardctl_may_ask_too(settings, client):
    response = client.post(
        "/api/v1/service-tokens", headers=basic("sscardctl", settings.internal_secret())
    )
    assert response.status_code == 200
    assert response.get_json()["token_type"] == "Bearer"
    assert response.get_json()["expires_in"] == 300


def test_a_wrong_secret_is_refused_and_the_client_reports_it(settings, live_url):
    client = ServiceTokenClient(live_url, "printing", "not-the-secret")
    with pytest.raises(TransientError, match="401"):
        client.token()


def test_anything_but_a_known_service_with_the_secret_is_a_401(settings, client):
    secret = settings.internal_secret()
    for headers in (
        {},
        basic("application", "wrong"),
        basic("application", ""),
        basic("intruder", secret),
        basic("", secret),
        {"Authorization": f"Bearer {secret}"},
        {"Authorization": "Basic !!!"},
    ):
        assert_problem(client.post("/api/v1/service-tokens", headers=headers), 401)
