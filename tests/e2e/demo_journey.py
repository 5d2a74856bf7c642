"""A scripted journey against a running `make run`: a new person applies and the card ends
activated. `python -m tests.e2e.demo_journey` (uses the same environment as `make run`).

Each run adds a fresh person to the identity registry simulator, so it can be repeated.
"""

from __future__ import annotations

import base64
import os
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import requests

from shared.config import SERVICES, service_url
from shared.personal_data.resident_id import check_character
from tests.e2e.client import Person, register_citizen, wait_for_status
from tests.e2e.stack import Stack
from tests.e2e.test_journeys import JOURNEY, apply, hand_over
from tests.support import images

GIVEN_NAMES = ("晓明", "丽华", "建国", "秀英", "志强", "美玲")


def new_person() -> Person:
    born = date(1970, 1, 1) + timedelta(days=random.randrange(15_000))
    sequence = random.randrange(100, 999)
    body = f"110105{born:%Y%m%d}{sequence:03d}"
    gender = "male" if sequence % 2 else "female"
    return Person(
        body + check_character(body),
        "刘" + random.choice(GIVEN_NAMES),
        gender,
        born.isoformat(),
        "汉",
        "北京市朝阳区建国路88号",
    )


def main() -> int:
    components = (*SERVICES, "identity_registry", "partner_bank", "sms_gateway")
    stack = Stack(
        Path(os.environ.get("SSCARD_VAR_DIR", "var")),
        dict(os.environ),
        {name: service_url(name) for name in components},
        "",
        Path("."),
    )
    stack.wait_ready(timeout=60)
    print("every service is ready")
    person = new_person()
    photo = base64.b64encode(images.card_photo("obama")).decode()
    requests.post(
        stack.url("identity_registry") + "/registry/v1/people",
        timeout=10,
        json=person.__dict__ | {"photo_base64": photo},
    ).raise_for_status()
    citizen, account_id = register_citizen(stack, person)
    print(f"registered {person.name} as account {account_id}")
    application_id, outlet = apply(stack, citizen, person, front=images.id_card_front("obama2"))
    print(
        f"submitted application {application_id} ({outlet['acceptance_number']}) "
        f"for {outlet['name']}"
    )
    ready = wait_for_status(citizen, application_id, "ready_for_pickup", timeout=120)
    print(f"card {ready['card']['card_serial']} is ready for pickup")
    hand_over(stack, outlet, ready["card"]["card_id"])
    done = wait_for_status(citizen, application_id, "activated")
    journey = [entry["status"] for entry in done["timeline"] if entry["status"] in JOURNEY]
    print("timeline: " + " → ".join(journey))
    return 0 if journey == JOURNEY else 1


if __name__ == "__main__":
    sys.exit(main())
