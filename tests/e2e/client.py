"""Talking to a running platform the way its users do: citizens, staff, integrators and
banks, over HTTP only."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import requests

from shared.testing.waiting import wait_until
from tests.e2e.stack import Stack

PASSWORD = "correct-horse-42"


@dataclass
class Person:
    """Someone in the identity registry simulator's seed data."""

    id_number: str
    name: str
    gender: str
    birth_date: str
    ethnicity: str
    address: str


ZHANG_WEI = Person(
    "110105198503121234", "张伟", "male", "1985-03-12", "汉", "北京市朝阳区建国路88号"
)
LI_NA = Person(
    "440106199007211246", "李娜", "female", "1990-07-21", "汉", "广州市天河区体育西路191号"
)
WANG_FANG = Person(
    "11010519491231002X", "王芳", "female", "1949-12-31", "满", "北京市朝阳区朝阳门外大街6号"
)
CHEN_MING = Person(
    "310104197811021354", "陈明", "male", "1978-11-02", "汉", "上海市徐汇区漕溪北路398号"
)


# The demo people's own phones, registered to them with the carrier by the SMS gateway
# simulator's seed (deploy/seed/sms_gateway/subscribers.json).
DEMO_PHONES = {
    ZHANG_WEI.id_number: "13700001001",
    LI_NA.id_number: "13700001002",
    WANG_FANG.id_number: "13700001003",
    CHEN_MING.id_number: "13700001004",
}

STAFF_NAMES = {
    "admin": "测试管理员",
    "reviewer": "测试审核员",
    "integrator": "测试集成方",
    "bank_operator": "测试柜员",
}


def new_phone() -> str:
    return "13" + str(uuid.uuid4().int)[:9]


class Api:
    def __init__(self, stack: Stack, token: str | None = None) -> None:
        self.stack = stack
        self.token = token

    def call(self, method: str, service: str, path: str, *, expect: int | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = requests.request(
            method, self.stack.url(service) + path, headers=headers, timeout=30, **kwargs
        )
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {service}{path} → {response.status_code}: {response.text[:500]}"
            )
        return response


def log_in(stack: Stack, phone: str, password: str = PASSWORD) -> Api:
    response = Api(stack).call(
        "POST",
        "registration",
        "/api/v1/sessions",
        json={"phone": phone, "password": password},
        expect=200,
    )
    return Api(stack, response.json()["access_token"])


def own_phone(stack: Stack, phone: str, person: Person) -> None:
    """Records with the carrier (the SMS gateway simulator) that `phone` is `person`'s."""
    Api(stack).call(
        "POST",
        "sms_gateway",
        "/carrier/v1/subscribers",
        json={"phone": phone, "name": person.name, "id_number": person.id_number},
        expect=201,
    )


def texted_code(stack: Stack, phone: str, purpose: str = "register") -> str:
    """Asks registration for a code and reads it from the SMS gateway simulator's texts."""
    api = Api(stack)
    api.call(
        "POST",
        "registration",
        "/api/v1/phone-codes",
        json={"phone": phone, "purpose": purpose},
        expect=202,
    )
    texts = api.call("GET", "sms_gateway", "/sms/v1/messages", params={"phone": phone}, expect=200)
    return re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", texts.json()["items"][0]["text"]).group()


def try_to_register(
    stack: Stack, person: Person, *, phone: str, name: str | None = None
) -> requests.Response:
    """POST /accounts with a code texted to `phone`, in `name` (default: the person's)."""
    return Api(stack).call(
        "POST",
        "registration",
        "/api/v1/accounts",
        json={
            "phone": phone,
            "code": texted_code(stack, phone),
            "password": PASSWORD,
            "name": name or person.name,
            "id_number": person.id_number,
        },
    )


def register_citizen(stack: Stack, person: Person, *, phone: str | None = None) -> tuple[Api, str]:
    """Registers `person` as they would: with `phone` (their seeded demo phone, or a fresh
    phone recorded as theirs with the carrier), a texted code read from the SMS gateway."""
    if phone is None:
        phone = new_phone()
        own_phone(stack, phone, person)
    response = try_to_register(stack, person, phone=phone)
    assert response.status_code == 201, f"POST /accounts → {response.status_code}: {response.text}"
    return log_in(stack, phone), response.json()["account_id"]


def staff(stack: Stack, role: str, bank_code: str | None = None) -> Api:
    phone = new_phone()
    arguments = [
        "staff",
        "create",
        "--role",
        role,
        "--phone",
        phone,
        "--password",
        PASSWORD,
        "--name",
        STAFF_NAMES[role],
    ]
    if bank_code:
        arguments += ["--bank-code", bank_code]
    stack.sscardctl(*arguments)
    return log_in(stack, phone)


def applicant(person: Person, phone: str = "13912345678") -> dict:
    return {
        "name": person.name,
        "gender": person.gender,
        "ethnicity": person.ethnicity,
        "birth_date": person.birth_date,
        "id_number": person.id_number,
        "phone": phone,
        "address": person.address,
        "person_status": "employed",
    }


def an_outlet(stack: Stack) -> dict:
    """An outlet from the application service's read model (filled by printing's events)."""
    return wait_until(
        lambda: (
            Api(stack).call("GET", "application", "/api/v1/outlets", expect=200).json()["items"]
        ),
        timeout=30,
        what="the outlet read model",
    )[0]


def wait_for_status(citizen: Api, application_id: str, status: str, timeout: float = 90) -> dict:
    def reached():
        body = citizen.call(
            "GET", "application", f"/api/v1/applications/{application_id}", expect=200
        ).json()
        return body if body["status"] == status else None

    return wait_until(reached, timeout=timeout, interval=0.25, what=f"status {status}")
