"""Factory helpers for registration tests: valid people, registering and logging in over HTTP
(asking for a code and reading it from the SMS gateway simulator, the person on file with the
identity registry simulator and the phone's owner with the carrier), a settable clock, cheap
hashing, and the service's dependencies on an in-memory database with fake adapters for
use-case unit tests."""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from services.registration import models
from services.registration.deps import Dependencies
from shared.config import load_settings
from shared.errors import TransientError
from shared.peers.sms import CarrierCheckUnavailable, MemorySmsSender
from shared.personal_data.resident_id import check_character, normalise
from shared.testing.memory import memory_database
from shared.testing.tokens import TEST_SERVICE_SECRET
from tests.support.identity_registry import RegistryServer
from tests.support.sms_gateway import SmsGatewayServer

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


@dataclass
class Outside:
    """The outside parties registration asks, as real simulators on local ports: the identity
    registry, and the SMS gateway (which also plays the carriers' real-name check)."""

    registry: RegistryServer
    sms: SmsGatewayServer

    def file_person(self, id_number, name) -> None:
        """The person on file with the registry and as the owner of nothing yet."""
        if isinstance(id_number, str) and isinstance(name, str):
            self.registry.add(normalise(id_number), name.strip())

    def own_phone(self, phone, name, id_number) -> None:
        """The carrier has `phone` registered to this person."""
        if isinstance(phone, str) and isinstance(name, str) and isinstance(id_number, str):
            self.sms.record_owner(phone, name.strip(), normalise(id_number))


OUTSIDE_KEY = "SSCARD_TEST_OUTSIDE"  # where the integration app keeps its Outside


def outside_environ(outside: Outside) -> dict[str, str]:
    """Settings that point registration at these simulators, with the per-address limits off
    and no wait between codes (every test client shares one address; the limits' own tests
    switch them on)."""
    return {
        "IDENTITY_REGISTRY_URL": outside.registry.url,
        "SMS_GATEWAY_URL": outside.sms.url,
        "REGISTRATION_REGISTRY_RETRIES": "0",
        "REGISTRATION_ADDRESS_LIMIT_PER_HOUR": "0",
        "REGISTRATION_CODE_RESEND_SECONDS": "0",
    }


_CODE = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


def outside_of(client) -> Outside:
    return client.application.config[OUTSIDE_KEY]


def with_outside(app, outside: Outside):
    """The app, knowing its simulators (for `register` and friends)."""
    app.config[OUTSIDE_KEY] = outside
    return app


def code_in(text: str) -> str:
    return _CODE.search(text).group(1)


def ask_code(client, phone, purpose: str = "register", **kwargs):
    return client.post("/api/v1/phone-codes", json={"phone": phone, "purpose": purpose}, **kwargs)


def latest_code(client, phone: str) -> str | None:
    """The newest code texted to the phone, read back from the SMS gateway simulator."""
    texts = outside_of(client).sms.texts_to(phone)
    return code_in(texts[0]) if texts else None


def texted_code(client, phone, purpose: str = "register") -> str:
    """Asks for a code and reads it from the texts; "000000" when none could be had (e.g. a
    malformed phone, for tests of the 422)."""
    if ask_code(client, phone, purpose).status_code != 202:
        return "000000"
    return latest_code(client, phone) or "000000"


def ready_citizen(client, *, on_file=True, own_phone=True, **overrides) -> dict:
    """A registration body as a person has it ready: the person on file with the registry
    (unless `on_file=False`), the phone theirs with the carrier (unless `own_phone=False`), a
    code asked for and read from the text (unless `code` is given)."""
    body = citizen(**overrides)
    outside = outside_of(client)
    if on_file:
        outside.file_person(body["id_number"], body["name"])
    if own_phone:
        outside.own_phone(body["phone"], body["name"], body["id_number"])
    if "code" not in body:
        body["code"] = texted_code(client, body["phone"])
    return body


def register(client, headers=None, **overrides):
    """Registers a citizen as a person does (`ready_citizen`); (response, body)."""
    body = ready_citizen(client, **overrides)
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


class FakeRegistry:
    """Stands in for the identity registry client: `people` by ID number; `down` makes every
    question a TransientError."""

    def __init__(self) -> None:
        self.people: dict[str, dict] = {}
        self.down = False

    def add(self, id_number: str, name: str) -> None:
        self.people[normalise(id_number)] = {"id_number": normalise(id_number), "name": name}

    def get_person(self, id_number: str) -> dict | None:
        if self.down:
            raise TransientError("identity registry answered 503")
        return self.people.get(id_number)


class FakeCarrier:
    """Stands in for the carriers' real-name check: `owners` by phone."""

    def __init__(self) -> None:
        self.owners: dict[str, tuple[str, str]] = {}
        self.down = False

    def own(self, phone: str, name: str, id_number: str) -> None:
        self.owners[phone] = (name, normalise(id_number))

    def verify(self, phone: str, name: str, id_number: str) -> bool:
        if self.down:
            raise CarrierCheckUnavailable("answered 503", status=503)
        return self.owners.get(phone) == (name, normalise(id_number))


def memory_deps(var_dir: Path, **environ: str) -> Dependencies:
    """The registration service's dependencies on a fresh in-memory database, with fake
    passwords, a settable clock, a MemorySmsSender, a fake registry and carrier; its key ring
    and secrets under `var_dir`."""
    settings = load_settings(
        "registration",
        {
            "SSCARD_VAR_DIR": str(var_dir),
            "SSCARD_PII_KEY": base64.b64encode(bytes(range(32))).decode(),
            "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
            "SSCARD_PROFILE": "demo",
            **environ,
        },
    )
    deps = Dependencies(settings=settings, database=memory_database(models.metadata))
    deps.passwords = FakePasswords()  # replaces the cached argon2 hasher before first use
    deps.clock = SettableClock()
    deps.sms = MemorySmsSender()
    deps.registry = FakeRegistry()
    deps.carrier = FakeCarrier()
    return deps
