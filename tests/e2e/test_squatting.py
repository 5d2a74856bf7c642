"""Squatting, the whole story through every process: whoever registered a person's ID number
first — here with a phone the carrier lists in that person's name, as a relative's phone may
be — never keeps that person from their card, and never gets a card with their own face."""

from __future__ import annotations

import base64

import pytest
import requests

from shared.personal_data.resident_id import check_character
from shared.testing.waiting import wait_until
from tests.e2e.client import (
    PASSWORD,
    Api,
    Person,
    new_phone,
    own_phone,
    register_citizen,
    wait_for_status,
)
from tests.e2e.test_journeys import apply, hand_over
from tests.support import images

pytestmark = pytest.mark.e2e


def test_an_impostor_who_registered_first_never_blocks_the_real_person_nor_gets_a_card(stack):
    body = "32010219880607462"
    victim = Person(
        body + check_character(body), "孙丽", "female", "1988-06-07", "汉", "南京市玄武区中山路1号"
    )
    requests.post(
        stack.url("identity_registry") + "/registry/v1/people",
        timeout=10,
        json=victim.__dict__ | {"photo_base64": base64.b64encode(images.card_photo()).decode()},
    ).raise_for_status()

    # The impostor knows her name and ID number and holds a phone listed in her name.
    impostor_phone = new_phone()
    own_phone(stack, impostor_phone, victim)
    impostor, impostor_account = register_citizen(stack, victim, phone=impostor_phone)
    impostor_application, _ = apply(
        stack,
        impostor,
        victim,
        photo=images.card_photo("biden"),
        front=images.id_card_front("biden2"),
    )

    # The real person registers with her own phone while the impostor's account exists.
    citizen, account = register_citizen(stack, victim)
    assert account != impostor_account
    application_id, outlet = apply(stack, citizen, victim, front=images.id_card_front("obama2"))

    # The impostor's own face is not the registry's: rejected, whatever the ID card shows.
    rejected = wait_for_status(impostor, impostor_application, "rejected")
    codes = {reason["code"] for reason in rejected["rejection_reasons"]}
    assert "registry_face_mismatch_photo" in codes, codes
    assert rejected["card"] is None

    ready = wait_for_status(citizen, application_id, "ready_for_pickup", timeout=120)
    hand_over(stack, outlet, ready["card"]["card_id"])
    activated = wait_for_status(citizen, application_id, "activated")
    assert activated["card"]["card_serial"] == ready["card"]["card_serial"]

    # Her approval bound the ID number to her account and locked the squatter's.
    def impostor_is_locked() -> bool:
        answer = Api(stack).call(
            "POST",
            "registration",
            "/api/v1/sessions",
            json={"phone": impostor_phone, "password": PASSWORD},
        )
        return answer.status_code == 403 and answer.json().get("code") == "account_locked"

    wait_until(impostor_is_locked, timeout=30, interval=1.0, what="the squatter locked")
