"""Factory helpers for registration tests: valid people, registering and logging in over HTTP,
a settable clock, cheap hashing, and the service's dependencies on an in-memory database with
fake adapters for use-case unit tests."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from services.registration import models
from services.registration.deps import Dependencies
from shared.config import load_settings
from shared.resident_id import check_character
from shared.testing.memory import memory_database
from shared.testing.tokens import TEST_SERVICE_SECRET

PROBLEM = "application/problem+json"

# Cheap argon2 for tests; the production cost is RFC 9106's (services.registration.config).
FAST_HASHING = {
    "REGISTRATION_ARGON2_TIME_COST": "1",
    "REGISTRATION_ARGON2_MEMORY_KIB": "8192",
    "REGISTRATION_ARGON2_PARALLELISM": "1",
}
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


class SettableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class PlainHasher:
    """Stands in for argon2 where only the rules are under test."""

    def hash(self, password: str) -> str:
        return f"hashed:{len(password)}"


class FakePasswords:
    """Stands in for argon2 in use-case tests: readable hashes that carry their cost, so a
    test can raise the cost and see a hash upgraded; `verified` records each stored hash
    checked (None for a phone without an account)."""

    def __init__(self, cost: int = 1) -> None:
        self.cost = cost
        self.verified: list[str | None] = []

    def hash(self, password: str) -> str:
        return f"fake:{self.cost}:{password}"

    def verify(self, stored_hash: str | None, password: str) -> bool:
        self.verified.append(stored_hash)
        return stored_hash is not None and stored_hash.split(":", 2)[2] == password

    def needs_rehash(self, stored_hash: str) -> bool:
        return stored_hash.split(":", 2)[1] != str(self.cost)


def memory_deps(var_dir: Path, **environ: str) -> Dependencies:
    """The registration service's dependencies on a fresh in-memory database, with fake
    passwords and a settable clock; its key ring and secrets under `var_dir`."""
    settings = load_settings(
        "registration",
        {
            "SSCARD_VAR_DIR": str(var_dir),
            "SSCARD_PII_KEY": base64.b64encode(bytes(range(32))).decode(),
            "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
            **environ,
        },
    )
    deps = Dependencies(settings=settings, database=memory_database(models.metadata))
    deps.passwords = FakePasswords()  # replaces the cached argon2 hasher before first use
    deps.clock = SettableClock()
    return deps
