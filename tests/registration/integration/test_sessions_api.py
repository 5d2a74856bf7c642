"""POST /api/v1/sessions: tokens, one answer for every bad credential, throttling."""

from __future__ import annotations

import jwt
from sqlalchemy import select

from services.registration import deps
from services.registration.app import create_app
from services.registration.models import Account, LoginFailure
from tests.registration.factories import (
    FAST_HASHING,
    PASSWORD,
    assert_problem,
    log_in,
    next_phone,
    register,
    with_outside,
)


def test_logging_in_gives_a_short_lived_eddsa_token_with_the_contract_claims(client):
    response, body = register(client)
    account_id = response.get_json()["account_id"]
    login = log_in(client, body["phone"])
    assert login.status_code == 200
    session = login.get_json()
    assert session["token_type"] == "Bearer"
    assert session["expires_in"] == 900
    header = jwt.get_unverified_header(session["access_token"])
    assert header["alg"] == "EdDSA"
    assert header["kid"]
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "sscard-registration"
    assert claims["sub"] == account_id
    assert claims["roles"] == ["citizen"]
    assert claims["exp"] - claims["iat"] == 900
    assert "bank_code" not in claims


def test_the_token_lifetime_is_a_setting(settings, outside):
    environ = {**settings.environ, "REGISTRATION_ACCESS_TOKEN_TTL_SECONDS": "120"}
    client = with_outside(create_app(settings.with_overrides(environ=environ)), outside)
    client = client.test_client()
    _, body = register(client)
    session = log_in(client, body["phone"]).get_json()
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert session["expires_in"] == 120
    assert claims["exp"] - claims["iat"] == 120


def test_an_unknown_phone_and_a_wrong_password_get_the_same_401(client, app, monkeypatch):
    _, body = register(client)
    with app.app_context():
        passwords = deps.current().passwords
    verified = []
    real_verify = passwords.verify
    monkeypatch.setattr(
        passwords,
        "verify",
        lambda stored, given: verified.append(stored) or real_verify(stored, given),
    )
    wrong_password = log_in(client, body["phone"], "wrong-password-1")
    unknown_phone = log_in(client, next_phone(), PASSWORD)
    first, second = assert_problem(wrong_password, 401), assert_problem(unknown_phone, 401)
    assert first == second
    assert wrong_password.headers["WWW-Authenticate"] == unknown_phone.headers["WWW-Authenticate"]
    # The unknown phone was verified too (against a dummy hash), so it took as long.
    assert len(verified) == 2 and verified[1] is None


def test_malformed_credentials_are_a_422(client):
    assert set(assert_problem(log_in(client, "not-a-phone"), 422)["errors"]) == {"phone"}
    response = client.post("/api/v1/sessions", json={"phone": next_phone()})
    assert set(assert_problem(response, 422)["errors"]) == {"password"}


def test_five_failures_make_the_phone_wait_even_with_the_right_password(client, clock):
    _, body = register(client)
    for _ in range(5):
        assert log_in(client, body["phone"], "wrong-password-1").status_code == 401
    throttled = log_in(client, body["phone"])
    assert_problem(throttled, 429)
    assert throttled.headers["Retry-After"] == "900"

    clock.advance(600)
    throttled = log_in(client, body["phone"])
    assert_problem(throttled, 429)
    assert throttled.headers["Retry-After"] == "300"

    clock.advance(301)
    assert log_in(client, body["phone"]).status_code == 200


def test_a_success_resets_the_count(client, clock):
    _, body = register(client)
    for _ in range(4):
        assert log_in(client, body["phone"], "wrong-password-1").status_code == 401
    assert log_in(client, body["phone"]).status_code == 200
    for _ in range(5):
        clock.advance(1)
        assert log_in(client, body["phone"], "wrong-password-1").status_code == 401
    assert log_in(client, body["phone"]).status_code == 429


def test_failures_older_than_the_window_do_not_count(client, app, clock):
    _, body = register(client)
    for _ in range(4):
        log_in(client, body["phone"], "wrong-password-1")
    clock.advance(15 * 60 + 1)
    for _ in range(4):
        assert log_in(client, body["phone"], "wrong-password-1").status_code == 401
    assert log_in(client, body["phone"]).status_code == 200
    with app.extensions["sscard"].database.session_factory() as session:
        left = session.scalars(select(LoginFailure).where(LoginFailure.phone == body["phone"]))
        assert list(left) == []


def test_throttling_is_per_phone_and_covers_phones_without_an_account(client):
    _, body = register(client)
    stranger = next_phone()
    for _ in range(5):
        assert log_in(client, stranger, "wrong-password-1").status_code == 401
    # A phone without an account is throttled exactly like one with: no enumeration by 429.
    assert log_in(client, stranger, "wrong-password-1").status_code == 429
    assert log_in(client, body["phone"]).status_code == 200


def test_failures_are_shared_by_every_web_worker(settings, client):
    """Gunicorn runs several processes; each builds its own app on the same database."""
    other_worker = create_app(settings).test_client()
    _, body = register(client)
    for worker in (client, other_worker, client, other_worker, client):
        assert log_in(worker, body["phone"], "wrong-password-1").status_code == 401
    assert log_in(other_worker, body["phone"]).status_code == 429


def test_a_hash_made_with_older_costs_is_upgraded_at_the_next_login(settings, outside):
    client = with_outside(create_app(settings), outside).test_client()
    _, body = register(client)
    stronger = {**FAST_HASHING, "REGISTRATION_ARGON2_TIME_COST": "2"}
    upgraded = create_app(settings.with_overrides(environ={**settings.environ, **stronger}))
    assert log_in(upgraded.test_client(), body["phone"]).status_code == 200
    with upgraded.extensions["sscard"].database.session_factory() as session:
        stored = session.scalar(select(Account.password_hash).where(Account.phone == body["phone"]))
    assert ",t=2," in stored
    assert log_in(client, body["phone"]).status_code == 200
