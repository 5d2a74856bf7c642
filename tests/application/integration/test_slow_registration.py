"""The application service keeps answering when the registration service is slow or failing
(issue 16, "a burst does not cascade"): its service token is fetched once and kept, a slow
identity check or token endpoint is a quick 503 with Retry-After, never a 500 or 502, and a
slow answer is not asked for again."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from shared.auth.tokens import SERVICE
from shared.testing.http import LocalServer, QuietHandler
from tests.application.factories import add_outlet
from tests.application.integration.peers import IDENTITY_CHECK

TIMEOUT = 0.5  # APPLICATION_ACCOUNTS_TIMEOUT_SECONDS of the service under test


class Registration:
    """The registration service's JWKS, service-token endpoint and identity check (always a
    match), each counting its calls and made slow or failing on demand."""

    def __init__(self, token_authority) -> None:
        self.authority = token_authority
        self.calls: Counter[str] = Counter()
        self.delay: dict[str, float] = {}
        self.status: dict[str, int] = {}
        self._server = LocalServer(self._handler())

    @property
    def url(self) -> str:
        return self._server.base_url

    def _answer(self, handler: QuietHandler, what: str, body: dict) -> None:
        self.calls[what] += 1
        time.sleep(self.delay.get(what, 0))
        status = self.status.get(what, 200)
        handler.send_json(status, body if status == 200 else {"title": "unavailable"})

    def _handler(self):
        registration = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                keys = registration.authority.keys.verification_keys()
                self.send_json(200, {"keys": [key.public_jwk() for key in keys]})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if IDENTITY_CHECK.fullmatch(self.path):
                    registration._answer(self, "identity-check", {"match": True})
                else:
                    token = registration.authority.token([SERVICE], subject="service:application")
                    body = {"access_token": token, "token_type": "Bearer", "expires_in": 300}
                    registration._answer(self, "service-token", body)

        return Handler


@pytest.fixture
def registration(token_authority):
    server = Registration(token_authority)
    with server._server:
        yield server


@pytest.fixture
def against(service, registration):
    """The service, the same database, with `registration` as its registration service."""
    slow = service.with_settings(
        REGISTRATION_URL=registration.url,
        APPLICATION_ACCOUNTS_URL=registration.url,
        APPLICATION_ACCOUNTS_TIMEOUT_SECONDS=str(TIMEOUT),
    )
    yield slow
    slow.database.dispose()


@pytest.fixture(scope="module")
def outlet(service) -> dict:
    return add_outlet(service.database)


def apply(service, citizen, outlet):
    started = time.monotonic()
    response = service.client().post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant()},
        headers=citizen.headers,
    )
    return response, time.monotonic() - started


def test_the_service_token_is_fetched_once_for_many_requests(against, registration, people, outlet):
    for _ in range(4):
        response, _ = apply(against, people.citizen(), outlet)
        assert response.status_code == 201, response.get_data(as_text=True)
    assert registration.calls["identity-check"] == 4
    assert registration.calls["service-token"] == 1


@pytest.mark.parametrize("what", ["identity-check", "service-token"])
def test_a_slow_registration_is_a_quick_503_with_retry_after(
    against, registration, people, outlet, what
):
    registration.delay[what] = TIMEOUT * 6
    citizen = people.citizen()
    response, took = apply(against, citizen, outlet)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert took < TIMEOUT * 4  # one wait, no second try of a slow answer
    assert registration.calls[what] == 1
    assert against.client().get("/api/v1/applications", headers=citizen.headers).json == {
        "items": []
    }


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_failing_identity_check_is_a_503_never_a_500_or_502(
    against, registration, people, outlet, status
):
    registration.status["identity-check"] = status
    response, _ = apply(against, people.citizen(), outlet)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    # A 502/503/504 is tried once more at once; a 500 is not.
    assert registration.calls["identity-check"] == (1 if status == 500 else 2)


def test_once_registration_answers_again_so_does_the_service(against, registration, people, outlet):
    registration.delay["identity-check"] = TIMEOUT * 6
    citizen = people.citizen()
    assert apply(against, citizen, outlet)[0].status_code == 503
    registration.delay.clear()
    assert apply(against, citizen, outlet)[0].status_code == 201
