"""Whole journeys through the running platform, as its users live them: over HTTP (citizens,
staff, integrators, the bank) and AMQP (the partner bank simulator), nothing in-process."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from standardwebhooks import Webhook

from shared.personal_data.resident_id import check_character
from shared.testing.waiting import wait_until
from tests.e2e.client import (
    CHEN_MING,
    DEMO_PHONES,
    LI_NA,
    WANG_FANG,
    ZHANG_WEI,
    Api,
    Person,
    an_outlet,
    applicant,
    new_phone,
    own_phone,
    register_citizen,
    staff,
    try_to_register,
    wait_for_status,
)
from tests.support import images

pytestmark = pytest.mark.e2e

JOURNEY = [
    "submitted",
    "verifying",
    "approved",
    "print_requested",
    "printed",
    "shipped",
    "ready_for_pickup",
    "collected",
    "activated",
]


def apply(
    stack,
    citizen: Api,
    person,
    *,
    front: bytes,
    photo: bytes | None = None,
    name: str | None = None,
) -> tuple[str, dict]:
    """Opens, fills in and submits an application: the photo on file unless `photo` is given,
    `front` as the ID card's portrait side. Returns its id and the chosen outlet."""
    outlet = an_outlet(stack)
    details = applicant(person) | ({"name": name} if name else {})
    application_id = citizen.call(
        "POST",
        "application",
        "/api/v1/applications",
        expect=201,
        json={"outlet_id": outlet["outlet_id"], "applicant": details},
    ).json()["application_id"]
    base = f"/api/v1/applications/{application_id}"
    if photo is None:
        default = citizen.call("GET", "application", f"{base}/default-photo", expect=200)
        assert default.headers["Content-Type"] == "image/jpeg"
        citizen.call("PUT", "application", f"{base}/photo", json={"source": "on_file"}, expect=204)
    else:
        citizen.call(
            "PUT",
            "application",
            f"{base}/photo",
            data=photo,
            headers={"Content-Type": "image/jpeg"},
            expect=204,
        )
    for side, image in (("front", front), ("back", images.id_card_back())):
        citizen.call(
            "PUT",
            "application",
            f"{base}/id-card/{side}",
            data=image,
            headers={"Content-Type": "image/png"},
            expect=204,
        )
    submitted = citizen.call("POST", "application", f"{base}/submit", expect=202).json()
    assert submitted["status"] == "submitted"
    return application_id, {**outlet, "acceptance_number": submitted["acceptance_number"]}


def hand_over(stack, outlet: dict, card_id: str) -> None:
    """At the outlet: the bank's operator records collection and activation."""
    operator = staff(stack, "bank_operator", bank_code=outlet["bank_code"])
    for status in ("collected", "activated"):
        operator.call(
            "POST",
            "printing",
            f"/api/v1/cards/{card_id}/events",
            json={"status": status},
            expect=200,
        )
    # The same report twice is a no-op, not an error.
    operator.call(
        "POST",
        "printing",
        f"/api/v1/cards/{card_id}/events",
        json={"status": "activated"},
        expect=200,
    )


def _subject(api: Api) -> str:
    """The account id a token names (its `sub`; read, not verified)."""
    claims = api.token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]


def statuses_in(timeline: list[dict]) -> list[str]:
    return [entry["status"] for entry in timeline]


def test_a_citizen_goes_from_registration_to_an_activated_card(stack, receiver):
    integrator = staff(stack, "integrator")
    # The integrator is the outlet's bank's: an admin grants its account that bank's scope.
    bank_code = an_outlet(stack)["bank_code"]
    staff(stack, "admin").call(
        "PUT",
        "notification",
        f"/api/v1/integrators/{_subject(integrator)}/scope",
        expect=200,
        json={"kind": "bank", "value": bank_code},
    )
    subscription = integrator.call(
        "POST",
        "notification",
        "/api/v1/subscriptions",
        expect=201,
        json={"url": receiver.url, "event_types": ["card.*", "verification.*"]},
    ).json()
    # With his own phone, registered to him with the carrier (the simulator's seed); the code
    # is read from the SMS gateway simulator's texts.
    citizen, account_id = register_citizen(stack, ZHANG_WEI, phone=DEMO_PHONES[ZHANG_WEI.id_number])
    citizen.call(
        "PUT",
        "notification",
        "/api/v1/channels/email",
        json={"address": "zhang.wei@example.com"},
        expect=204,
    )

    application_id, outlet = apply(stack, citizen, ZHANG_WEI, front=images.id_card_front("obama2"))
    ready = wait_for_status(citizen, application_id, "ready_for_pickup")
    assert ready["card"]["card_serial"]
    hand_over(stack, outlet, ready["card"]["card_id"])
    done = wait_for_status(citizen, application_id, "activated")

    timeline = statuses_in(done["timeline"])
    assert [status for status in timeline if status in JOURNEY] == JOURNEY  # in order, once each
    assert done["applicant"].get("id_number") is None
    assert ZHANG_WEI.id_number not in str(done)

    progress = requests.get(
        stack.url("application") + "/api/v1/progress",
        timeout=10,
        params={"acceptance_number": outlet["acceptance_number"], "name": ZHANG_WEI.name},
    ).json()
    assert progress["status"] == "activated"
    assert set(progress) == {"status", "updated_at", "outlet"}
    assert progress["outlet"]["name"] == outlet["name"]

    # Told on every bound channel, once per step.
    def notified():
        items = citizen.call("GET", "notification", "/api/v1/notifications", expect=200).json()[
            "items"
        ]
        return (
            items
            if any(
                item["event_type"] == "card.activated" and item["channel"] == "email"
                for item in items
            )
            else None
        )

    items = wait_until(notified, timeout=30, what="the activation notification")
    sent = [(item["event_type"], item["channel"]) for item in items]
    assert len(sent) == len(set(sent))
    for channel in ("sms", "email"):
        for event_type in (
            "application.submitted",
            "verification.approved",
            "card.printed",
            "card.ready_for_pickup",
            "card.activated",
        ):
            assert (event_type, channel) in sent

    # The integrator's webhook: signed, public data only, every card step.
    def delivered():
        types = [event["type"] for event in receiver.events()]
        return types if "card.activated" in types else None

    types = wait_until(delivered, timeout=30, what="the card.activated webhook")
    assert {
        "verification.approved",
        "card.print_requested",
        "card.printed",
        "card.ready_for_pickup",
        "card.activated",
    } <= set(types)
    verifier = Webhook(subscription["secret"])
    for request in receiver.requests:
        headers = {name.lower(): value for name, value in request.headers.items()}
        verifier.verify(request.body, headers)
        assert headers["content-type"].startswith("application/cloudevents+json")
        assert ZHANG_WEI.id_number.encode() not in request.body
        assert account_id.encode() not in request.body
        assert b'"account_id"' not in request.body and b'"decided_by"' not in request.body

    # The operator's view of the same story, from every service's own records.
    trace = stack.sscardctl("trace", application_id).stdout
    for expected in (
        "application.submitted",
        "verification.approved",
        "card.print_requested",
        "card.activated",
        "notification",
    ):
        assert expected in trace
    assert ZHANG_WEI.id_number not in trace


def test_a_name_the_registry_does_not_confirm_gets_no_account(stack):
    phone = new_phone()
    own_phone(stack, phone, LI_NA)
    refused = try_to_register(stack, LI_NA, phone=phone, name="李娜娜")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "identity_not_confirmed"
    # Nor does a phone the carrier has under somebody else (here: 李娜's) register 王芳.
    hers = new_phone()
    own_phone(stack, hers, LI_NA)
    impostor = try_to_register(stack, WANG_FANG, phone=hers)
    assert impostor.status_code == 422, impostor.text
    assert impostor.json()["code"] == "phone_not_confirmed"


def test_a_registry_mismatch_is_rejected_with_a_reason(stack):
    # Registration confirmed the name; the registry's record then changed (a change of name),
    # so the application's name no longer agrees with the registry's.
    body = "44010619920315123"
    person = Person(
        body + check_character(body), "周杰", "male", "1992-03-15", "汉", "广州市越秀区中山五路1号"
    )
    people = stack.url("identity_registry") + "/registry/v1/people"
    photo = base64.b64encode(images.card_photo("obama")).decode()
    requests.post(
        people, timeout=10, json=person.__dict__ | {"photo_base64": photo}
    ).raise_for_status()
    citizen, _ = register_citizen(stack, person)
    renamed = person.__dict__ | {"name": "周杰伦", "photo_base64": photo}
    requests.post(people, timeout=10, json=renamed).raise_for_status()
    application_id, _ = apply(
        stack,
        citizen,
        person,
        photo=images.card_photo("obama2"),
        front=images.id_card_front("obama"),
    )
    rejected = wait_for_status(citizen, application_id, "rejected")
    codes = [reason["code"] for reason in rejected["rejection_reasons"]]
    assert any("name" in code for code in codes), codes
    assert rejected["card"] is None


def test_a_failed_print_is_reprinted_and_the_card_still_reaches_its_holder(stack):
    bank_control = stack.url("partner_bank") + "/control/v1/settings"
    requests.put(bank_control, json={"failure_rate": 1.0}, timeout=5).raise_for_status()
    try:
        citizen, _ = register_citizen(stack, CHEN_MING)
        application_id, outlet = apply(
            stack, citizen, CHEN_MING, front=images.id_card_front("biden2")
        )
        failed = wait_for_status(citizen, application_id, "print_failed")
    finally:
        requests.put(bank_control, json={"failure_rate": 0.0}, timeout=5).raise_for_status()
    first_serial = failed["card"]["card_serial"]

    admin = staff(stack, "admin")
    card_id = failed["card"]["card_id"]
    admin.call("POST", "printing", f"/api/v1/cards/{card_id}/reprint", expect=200)
    ready = wait_for_status(citizen, application_id, "ready_for_pickup")
    assert ready["card"]["card_serial"] != first_serial
    hand_over(stack, outlet, card_id)
    done = wait_for_status(citizen, application_id, "activated")
    timeline = statuses_in(done["timeline"])
    assert timeline.count("print_requested") == 2
    assert "print_failed" in timeline

    card = admin.call("GET", "printing", f"/api/v1/cards/{card_id}", expect=200).json()
    assert [serial["card_serial"] for serial in card["serials"]][-1] == ready["card"]["card_serial"]
    assert len(card["serials"]) == 2


def test_a_borderline_face_goes_to_a_reviewer_whose_approval_sends_the_card_on(stack):
    citizen, _ = register_citizen(stack, WANG_FANG)
    # Her photo on file (deploy/seed: wang-fang.jpg) is biden2's card photo; the ID card's
    # portrait is a look-alike of her, about 0.56 from it: borderline against both.
    front = images.id_card_front_lookalike("biden2", "obama", share=0.5)
    application_id, outlet = apply(
        stack, citizen, WANG_FANG, photo=images.card_photo("biden2"), front=front
    )
    wait_for_status(citizen, application_id, "review_required")

    reviewer = staff(stack, "reviewer")
    citizen.call("GET", "verification", "/api/v1/reviews", expect=403)

    def pending_case():
        items = reviewer.call(
            "GET", "verification", "/api/v1/reviews?status=pending", expect=200
        ).json()["items"]
        return next((case for case in items if case["application_id"] == application_id), None)

    case = wait_until(pending_case, timeout=30, what="the case in the review queue")
    face = next(check for check in case["checks"] if check["check"] == "id_card_face_match")
    assert face["outcome"] == "review"
    assert WANG_FANG.id_number not in str(case)
    photo = reviewer.call(
        "GET", "verification", f"/api/v1/reviews/{case['case_id']}/files/id_card_front", expect=200
    )
    assert photo.content == front
    on_file = reviewer.call(
        "GET", "verification", f"/api/v1/cases/{case['case_id']}/registry-photo", expect=200
    )
    assert on_file.content == images.card_photo("biden2")
    decision = {"decision": "approve", "reason": "Same person; the ID card photo is old."}
    reviewer.call(
        "POST",
        "verification",
        f"/api/v1/reviews/{case['case_id']}/decision",
        json=decision,
        expect=200,
    )
    reviewer.call(
        "POST",
        "verification",
        f"/api/v1/reviews/{case['case_id']}/decision",
        json=decision,
        expect=409,
    )

    ready = wait_for_status(citizen, application_id, "ready_for_pickup")
    hand_over(stack, outlet, ready["card"]["card_id"])
    done = wait_for_status(citizen, application_id, "activated")
    assert "review_required" in statuses_in(done["timeline"])


def test_services_killed_mid_journey_come_back_and_nothing_is_lost_or_doubled(stack):
    person = Person(
        "320102199206151247", "赵敏", "female", "1992-06-15", "汉", "南京市玄武区中山路1号"
    )
    requests.post(
        stack.url("identity_registry") + "/registry/v1/people",
        timeout=10,
        json=person.__dict__
        | {"photo_base64": base64.b64encode(images.card_photo("biden")).decode()},
    ).raise_for_status()
    citizen, _ = register_citizen(stack, person)
    application_id, outlet = apply(stack, citizen, person, front=images.id_card_front("biden2"))

    # The printing and application workers die (SIGKILL: no goodbye) while verification runs.
    stack.kill("printing-worker")
    stack.kill("application-worker")
    admin = staff(stack, "admin")

    def verified():
        case = admin.call("GET", "verification", f"/api/v1/cases?application_id={application_id}")
        return case.status_code == 200 and case.json()["status"] == "approved"

    wait_until(verified, timeout=60, what="verification to approve while the workers are down")
    stack.start("printing-worker")
    stack.start("application-worker")

    ready = wait_for_status(citizen, application_id, "ready_for_pickup")
    hand_over(stack, outlet, ready["card"]["card_id"])
    done = wait_for_status(citizen, application_id, "activated")

    timeline = statuses_in(done["timeline"])
    assert [status for status in timeline if status in JOURNEY] == JOURNEY
    cards = admin.call(
        "GET", "printing", f"/api/v1/cards?application_id={application_id}", expect=200
    ).json()["items"]
    assert len(cards) == 1
    assert len(cards[0]["serials"]) == 1

    def all_notified():
        items = citizen.call("GET", "notification", "/api/v1/notifications", expect=200).json()[
            "items"
        ]
        return items if any(item["event_type"] == "card.activated" for item in items) else None

    sent = [(item["event_type"], item["channel"]) for item in wait_until(all_notified, timeout=30)]
    assert len(sent) == len(set(sent))
