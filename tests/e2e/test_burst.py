"""A burst does not cascade (issue 16): 32 new citizens at once register, log in and open an
application against the running platform. Registration may turn its own (slow, argon2) calls
away with 503 and `Retry-After`, and the citizens retry as told; the application service
answers none of them 500, 502 or 503, because registration's cheap endpoints (JWKS, service
tokens, identity checks, revocations) keep answering and the application service keeps its
keys and its service token through the burst."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import requests

from shared.personal_data.resident_id import check_character
from tests.e2e.client import (
    PASSWORD,
    Person,
    an_outlet,
    applicant,
    new_phone,
    own_phone,
    texted_code,
)

pytestmark = pytest.mark.e2e

CITIZENS = 32
SERVER_ERRORS = (500, 502, 503)
RETRY_BUDGET_SECONDS = 120


def burst_person(index: int) -> Person:
    """A person of its own, with a valid ID number no other test uses (born in 1970)."""
    born = date(1970, 1, 1) + timedelta(days=index)
    body = f"110105{born:%Y%m%d}{900 + index % 100:03d}"
    return Person(
        body + check_character(body),
        "赵" + "一二三四五六七八九十"[index % 10] + "甲乙丙丁"[index // 10 % 4],
        "male" if (900 + index % 100) % 2 else "female",
        born.isoformat(),
        "汉",
        "北京市朝阳区建国路88号",
    )


class Recorder:
    """Every answer each service gave, by status."""

    def __init__(self) -> None:
        self.statuses: dict[str, Counter] = {}
        self._lock = threading.Lock()

    def call(self, method: str, url: str, service: str, **kwargs) -> requests.Response:
        response = requests.request(method, url, timeout=60, **kwargs)
        with self._lock:
            self.statuses.setdefault(service, Counter())[response.status_code] += 1
        return response


def with_retries(call) -> requests.Response:
    """Calls again while registration answers 503, waiting as its Retry-After says."""
    deadline = time.monotonic() + RETRY_BUDGET_SECONDS
    while True:
        response = call()
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        assert "Retry-After" in response.headers, response.text
        time.sleep(float(response.headers["Retry-After"]))


def register_new_citizen(stack, recorder: Recorder, person: Person, phone: str) -> None:
    """Registration's step of the burst, as a person takes it: the person is in the identity
    registry, the phone is theirs with the carrier, a code is texted and read back, then the
    account is created (registration may answer 503 + Retry-After under the burst)."""
    requests.post(
        stack.url("identity_registry") + "/registry/v1/people",
        timeout=10,
        json=person.__dict__ | {"photo_base64": None},
    ).raise_for_status()
    own_phone(stack, phone, person)
    code = texted_code(stack, phone)
    url = stack.url("registration") + "/api/v1/accounts"
    body = {"phone": phone, "code": code, "password": PASSWORD, "name": person.name}
    body["id_number"] = person.id_number
    response = with_retries(lambda: recorder.call("POST", url, "registration", json=body))
    assert response.status_code == 201, response.text


def one_citizen(stack, recorder: Recorder, outlet: dict, index: int) -> int:
    person, phone = burst_person(index), new_phone()
    register_new_citizen(stack, recorder, person, phone)
    login = with_retries(
        lambda: recorder.call(
            "POST",
            stack.url("registration") + "/api/v1/sessions",
            "registration",
            json={"phone": phone, "password": PASSWORD},
        )
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    opened = recorder.call(
        "POST",
        stack.url("application") + "/api/v1/applications",
        "application",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        json={"outlet_id": outlet["outlet_id"], "applicant": applicant(person, phone)},
    )
    return opened.status_code


def test_32_new_citizens_at_once_get_no_server_error_from_the_application_service(stack):
    outlet = an_outlet(stack)
    recorder = Recorder()
    start = threading.Barrier(CITIZENS)

    def citizen(index: int) -> int:
        start.wait()
        return one_citizen(stack, recorder, outlet, index)

    with ThreadPoolExecutor(CITIZENS) as pool:
        opened = list(pool.map(citizen, range(CITIZENS)))

    application = recorder.statuses["application"]
    assert not any(application[status] for status in SERVER_ERRORS), recorder.statuses
    assert opened == [201] * CITIZENS, recorder.statuses
    # Registration turned nothing away with an error other than its "busy, retry" 503.
    registration = recorder.statuses["registration"]
    assert not any(registration[status] for status in (500, 502)), recorder.statuses
