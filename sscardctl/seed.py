"""`sscardctl seed` (development and demos only): the demo partner banks and outlets, the
identity registry's people, the demo people's phones as their carrier knows them (the SMS
gateway simulator), and demo staff whose generated passwords are printed once.

Idempotent: run it again and it creates nothing twice; staff who already exist keep their
password (it is never stored anywhere but as a hash, so it cannot be printed again).
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import requests

from services.printing.deps import build as build_printing
from services.printing.use_cases.seed import (
    SEED_FILE,
    SeedReport,
    read_seed_file,
    seed_banks_and_outlets,
)
from services.registration.domain.accounts import AccountExists
from shared.config import Settings, load_settings, service_url
from shared.db.uow import UnitOfWork
from shared.peers.sms import carrier_verify_url
from sscardctl.staff import create_staff_account

SEED_DIR = Path(__file__).resolve().parent.parent / "deploy" / "seed"


def generated_password() -> str:
    # Readable, typeable, and never all digits (a registration rule).
    return "demo-" + secrets.token_urlsafe(9)


def seed_partner_banks(settings: Settings, seed_file: Path = SEED_FILE) -> SeedReport:
    """The printing service's demo banks and outlets, in one transaction of its own."""
    banks = read_seed_file(seed_file)
    deps = build_printing(settings, pool_size=1)
    try:
        with UnitOfWork(deps.database, settings.service) as uow:
            report = seed_banks_and_outlets(uow, deps, banks=banks)
            uow.commit()
    finally:
        deps.database.dispose()
    return report


def seed_registry_people(registry_url: str, seed_dir: Path = SEED_DIR) -> int:
    """Adds the demo people to the identity registry simulator (it also loads them itself at
    start; this makes a restarted or emptied simulator whole again)."""
    people = json.loads((seed_dir / "identity_registry" / "people.json").read_text("utf-8"))
    for person in people:
        photo = (seed_dir / "identity_registry" / person["photo"]).read_bytes()
        body = {key: value for key, value in person.items() if key != "photo"}
        body["photo_base64"] = base64.b64encode(photo).decode()
        response = requests.post(f"{registry_url}/registry/v1/people", json=body, timeout=10)
        response.raise_for_status()
    return len(people)


def demo_phones(seed_dir: Path = SEED_DIR) -> list[dict[str, str]]:
    """Each demo person's phone, name and ID number, as their carrier has them on record."""
    return json.loads((seed_dir / "sms_gateway" / "subscribers.json").read_text("utf-8"))


def seed_carrier_subscribers(carrier_url: str, seed_dir: Path = SEED_DIR) -> int:
    """Records the demo people as the owners of their phones with the carrier stand-in (the
    SMS gateway simulator, which also records them itself when it starts)."""
    subscribers = demo_phones(seed_dir)
    for subscriber in subscribers:
        response = requests.post(
            f"{carrier_url}/carrier/v1/subscribers", json=subscriber, timeout=10
        )
        response.raise_for_status()
    return len(subscribers)


def seed_staff(seed_dir: Path = SEED_DIR) -> list[tuple[dict, str | None]]:
    """Each demo staff member with their new password, or None when they already existed."""
    settings = load_settings("registration")
    staff = json.loads((seed_dir / "staff.json").read_text("utf-8"))["staff"]
    created: list[tuple[dict, str | None]] = []
    for member in staff:
        password = generated_password()
        try:
            create_staff_account(settings, password=password, **member)
        except AccountExists:
            created.append((member, None))
        else:
            created.append((member, password))
    return created


def run_seed() -> None:
    report = seed_partner_banks(load_settings("printing"))
    print(
        f"banks and outlets: {report.banks_created} bank(s) created, "
        f"{report.outlets_published} of {report.outlets_total} outlet(s) published"
    )
    registry_url = load_settings("registration").identity_registry_url
    try:
        print(f"identity registry: {seed_registry_people(registry_url)} people on file")
    except requests.RequestException as exc:
        print(
            f"identity registry: not reachable at {registry_url} ({exc.__class__.__name__}); "
            "the simulator loads the same people itself when it starts"
        )
    carrier_url = carrier_verify_url()
    try:
        count = seed_carrier_subscribers(carrier_url)
        print(f"carrier (SMS gateway simulator): {count} demo phone(s) on record")
    except requests.RequestException as exc:
        print(
            f"carrier (SMS gateway simulator): not reachable at {carrier_url} "
            f"({exc.__class__.__name__}); the simulator records the same phones itself when "
            "it starts"
        )
    texts = service_url("sms_gateway") + "/sms/v1/messages?phone="
    print(f"demo people (register with their own phone; texted codes at {texts}<phone>):")
    for person in demo_phones():
        print(f"  {person['name']:<6} ID {person['id_number']}  phone {person['phone']}")
    print("demo staff (log in with POST /api/v1/sessions):")
    for member, password in seed_staff():
        bank = f" {member['bank_code']}" if member.get("bank_code") else ""
        secret = password if password else "(exists; password unchanged)"
        print(f"  {member['role']:<14}{bank:<6} phone {member['phone']}  password {secret}")
