"""Factory helpers for registration tests: valid people, registering, logging in."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

from sqlalchemy import func, select

from shared.resident_id import check_character

PROBLEM = "application/problem+json"
PASSWORD = "correct-horse-1"

# The valid examples of docs/domain.md.
VALID_ID_NUMBERS = (
    "11010519491231002X",
    "440524188001010014",
    "34052419800101001X",
    "360426199101010071",
)

_phones = (f"1380013{n:04d}" for n in itertools.count())
_people = itertools.count()


def next_phone() -> str:
    return next(_phones)


def next_id_number(*, ending: str | None = None) -> str:
    """A valid ID number no other test uses (born 1990 on; docs/domain.md's examples are not)."""
    while True:
        n = next(_people)
        born = date(1990, 1, 1) + timedelta(days=n // 500)
        body = f"110105{born:%Y%m%d}{n % 500:03d}"
        number = body + check_character(body)
        if ending is None or number.endswith(ending):
            return number


def citizen(**overrides) -> dict:
    body = {
        "phone": next_phone(),
        "password": PASSWORD,
        "name": "张三",
        "id_number": next_id_number(),
    }
    body.update(overrides)
    return body


def register(client, headers=None, **overrides):
    body = citizen(**overrides)
    return client.post("/api/v1/accounts", json=body, headers=headers or {}), body


def log_in(client, phone: str, password: str = PASSWORD):
    return client.post("/api/v1/sessions", json={"phone": phone, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def registered_token(client, **overrides) -> tuple[str, dict, dict]:
    """Registers a citizen and logs in: (access token, registration body, account)."""
    response, body = register(client, **overrides)
    assert response.status_code == 201, response.get_data(as_text=True)
    login = log_in(client, body["phone"], body["password"])
    assert login.status_code == 200, login.get_data(as_text=True)
    return login.get_json()["access_token"], body, response.get_json()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    return body


def count_rows(app, table) -> int:
    database = app.extensions["sscard"].database
    with database.session_factory() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def outbox_rows(app, *, subject: str | None = None) -> list:
    """Outbox rows in order; with `subject`, only those about that account."""
    database = app.extensions["sscard"].database
    table = database.outbox.table
    with database.session_factory() as session:
        rows = list(session.execute(select(table).order_by(table.c.seq)))
    return [row for row in rows if subject is None or json.loads(row.body)["subject"] == subject]
