"""`sscardctl staff disable|enable|reset-password` on the registration database, and what follows
over HTTP: the login answers 403 `account_disabled`, the account's tokens stop working at
registration at once and at any other service through `GET /internal/v1/revocations`, which
only services may read."""

from __future__ import annotations

import time

import pytest

from shared.auth.revocations import REVOCATIONS_PATH, RevocationList
from shared.auth.service_tokens import ServiceTokenClient
from shared.auth.tokens import JwksClient, TokenVerifier
from shared.errors import Unauthorized
from shared.web.app import JWKS_PATH
from sscardctl import cli
from tests.registration.factories import FAST_HASHING, assert_problem, bearer, log_in, next_phone

STAFF_PASSWORD = "staff-pass-1"


def create_staff(sscardctl, name: str = "Li Ming") -> tuple[str, str]:
    phone = next_phone()
    code, account_id, err = sscardctl(
        "staff", "create", "--role", "reviewer", "--phone", phone,
        "--password", STAFF_PASSWORD, "--name", name,
    )  # fmt: skip
    assert code == 0, err
    return phone, account_id


def token_of(client, phone: str, password: str = STAFF_PASSWORD) -> str:
    response = log_in(client, phone, password)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


@pytest.fixture
def sscardctl(settings, monkeypatch, capsys):
    """Runs sscardctl against the test's registration database; returns (code, out, err)."""
    monkeypatch.setenv("REGISTRATION_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SSCARD_VAR_DIR", str(settings.var_dir))
    for name, value in FAST_HASHING.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out.strip(), captured.err.strip()

    return run


@pytest.fixture
def elsewhere(settings, live_url):
    """Another service's verifier: registration's keys and revocation list over HTTP, the list
    asked for again on every verification."""
    tokens = ServiceTokenClient(live_url, "application", settings.internal_secret())
    revocations = RevocationList(
        live_url + REVOCATIONS_PATH, tokens.headers, refresh_interval=0, max_age=0
    )
    revocations.retry_interval = 0
    return TokenVerifier(JwksClient(live_url + JWKS_PATH), revocations=revocations)


def test_a_staff_name_may_have_spaces(sscardctl, client):
    phone, _ = create_staff(sscardctl, "Li Ming")
    me = client.get("/api/v1/accounts/me", headers=bearer(token_of(client, phone)))
    assert me.get_json()["name"] == "Li Ming"
    code, _, err = sscardctl(
        "staff", "create", "--role", "admin", "--phone", next_phone(),
        "--password", STAFF_PASSWORD, "--name", "Li  Ming",
    )  # fmt: skip
    assert code == 2 and "--name" in err


def test_a_disabled_account_cannot_log_in_and_its_tokens_stop_working(sscardctl, client, elsewhere):
    phone, account_id = create_staff(sscardctl)
    token = token_of(client, phone)
    assert elsewhere.verify(token).subject == account_id

    code, out, _ = sscardctl("staff", "disable", phone)
    assert (code, out) == (0, f"{account_id} disabled")

    refused = assert_problem(log_in(client, phone, STAFF_PASSWORD), 403)
    assert refused["code"] == "account_disabled"
    assert_problem(log_in(client, phone, "wrong-password-1"), 401)  # says nothing more
    assert_problem(client.get("/api/v1/accounts/me", headers=bearer(token)), 401)
    with pytest.raises(Unauthorized, match="revoked"):
        elsewhere.verify(token)

    time.sleep(1.1)  # tokens of the second of the revocation count as before it
    assert sscardctl("staff", "enable", phone)[:2] == (0, f"{account_id} enabled")
    again = token_of(client, phone)
    assert client.get("/api/v1/accounts/me", headers=bearer(again)).status_code == 200
    assert elsewhere.verify(again).subject == account_id
    # The tokens from before the disabling stay refused.
    assert_problem(client.get("/api/v1/accounts/me", headers=bearer(token)), 401)
    with pytest.raises(Unauthorized):
        elsewhere.verify(token)


def test_a_reset_password_is_printed_once_and_the_old_password_and_tokens_stop(
    sscardctl, client, elsewhere
):
    phone, account_id = create_staff(sscardctl)
    token = token_of(client, phone)
    code, out, _ = sscardctl("staff", "reset-password", phone)
    assert code == 0
    first_line, password = out.splitlines()
    assert first_line.startswith(account_id)
    assert_problem(log_in(client, phone, STAFF_PASSWORD), 401)
    with pytest.raises(Unauthorized):
        elsewhere.verify(token)
    time.sleep(1.1)
    assert elsewhere.verify(token_of(client, phone, password)).subject == account_id


def test_a_phone_without_a_staff_account_exits_1(sscardctl):
    for command in ("disable", "enable", "reset-password"):
        code, out, err = sscardctl("staff", command, next_phone())
        assert (code, out) == (1, "") and "No staff account" in err, command


def test_only_services_read_the_revocation_list(sscardctl, client, settings, live_url):
    assert_problem(client.get(REVOCATIONS_PATH), 401)
    phone, account_id = create_staff(sscardctl)
    assert_problem(client.get(REVOCATIONS_PATH, headers=bearer(token_of(client, phone))), 403)
    sscardctl("staff", "disable", phone)
    service = ServiceTokenClient(live_url, "printing", settings.internal_secret()).headers()
    listed = client.get(REVOCATIONS_PATH, headers=service)
    assert listed.status_code == 200
    (item,) = [item for item in listed.get_json()["items"] if item["account_id"] == account_id]
    assert item["since"].endswith("Z")
