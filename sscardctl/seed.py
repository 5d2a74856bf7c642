"""`sscardctl seed` (development and demos only): the demo partner banks and outlets, the
identity registry's people, and demo staff whose generated passwords are printed once.

Idempotent: run it again and it creates nothing twice; staff who already exist keep their
password (it is never stored anywhere but as a hash, so it cannot be printed again).
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import requests

from services.printing.seed import seed_banks_and_outlets
from services.registration.domain.accounts import AccountExists
from shared.config import load_settings
from sscardctl.staff import create_staff_account

SEED_DIR = Path(__file__).resolve().parent.parent / "deploy" / "seed"


def generated_password() -> str:
    # Readable, typeable, and never all digits (a registration rule).
    return "demo-" + secrets.token_urlsafe(9)


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
    report = seed_banks_and_outlets(load_settings("printing"))
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
    print("demo staff (log in with POST /api/v1/sessions):")
    for member, password in seed_staff():
        bank = f" {member['bank_code']}" if member.get("bank_code") else ""
        secret = password if password else "(exists; password unchanged)"
        print(f"  {member['role']:<14}{bank:<6} phone {member['phone']}  password {secret}")
