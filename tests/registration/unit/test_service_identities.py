"""Each caller has its own secret, and a service token names the service that presented it."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from services.registration.use_cases import tokens
from shared.config import load_settings
from shared.errors import Unauthorized
from tests.registration.factories import memory_deps

SECRETS = {
    "application": "a" * 40,
    "verification": "v" * 40,
    "printing": "p" * 40,
    "sscardctl": "s" * 40,
}


@pytest.fixture
def deps(tmp_path):
    """Production: registration holds the application's secret itself, the others' SHA-256."""
    deps = memory_deps(
        tmp_path,
        SSCARD_PROFILE="production",
        SSCARD_SERVICE_SECRET="",
        APPLICATION_SERVICE_SECRET=SECRETS["application"],
        VERIFICATION_SERVICE_SECRET_SHA256=hashlib.sha256(b"v" * 40).hexdigest(),
        PRINTING_SERVICE_SECRET_SHA256=hashlib.sha256(b"p" * 40).hexdigest().upper(),
        SSCARDCTL_SERVICE_SECRET_SHA256=hashlib.sha256(b"s" * 40).hexdigest(),
    )
    yield deps
    deps.database.dispose()


def claims(issued: dict) -> dict:
    return jwt.decode(issued["access_token"], options={"verify_signature": False})


@pytest.mark.parametrize("client", sorted(SECRETS))
def test_each_client_gets_a_token_naming_it_with_its_own_secret(deps, client):
    issued = claims(tokens.issue_service_token(deps, client=client, secret=SECRETS[client]))
    assert issued["sub"] == f"service:{client}"
    assert issued["service"] == client
    assert issued["roles"] == ["service"]


@pytest.mark.parametrize("client", sorted(SECRETS))
def test_another_clients_secret_does_not_open_the_door(deps, client):
    for other, secret in SECRETS.items():
        if other != client:
            with pytest.raises(Unauthorized):
                tokens.issue_service_token(deps, client=client, secret=secret)


def test_a_client_without_a_credential_and_the_old_shared_secret_get_nothing(deps):
    # notification has no credential configured here; the shared secret is demo-only.
    for client, secret in (("notification", "n" * 40), ("notification", ""), ("stranger", "")):
        with pytest.raises(Unauthorized):
            tokens.issue_service_token(deps, client=client, secret=secret)


def test_the_shared_secret_is_honoured_in_the_demo_profile_only(tmp_path):
    shared = {"SSCARD_SERVICE_SECRET": "x" * 40, "SSCARD_VAR_DIR": str(tmp_path)}
    demo = load_settings("printing", {**shared, "SSCARD_PROFILE": "demo"})
    production = load_settings("printing", {**shared, "SSCARD_PROFILE": "production"})
    assert demo.internal_secret() == "x" * 40
    assert production.service_secret_of("printing") is None
    with pytest.raises(RuntimeError, match="PRINTING_SERVICE_SECRET is not set"):
        production.internal_secret()
    own = load_settings("printing", {**shared, "PRINTING_SERVICE_SECRET": "p" * 40})
    assert own.internal_secret() == "p" * 40
