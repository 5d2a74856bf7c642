"""The lost-card story through the running platform: a citizen's activated card is reported
lost (blocked at once, its electronic card refused at once), replaced by a new card that the
partner bank simulator prints and the outlet hands over, while the old card ends `replaced`;
one live card all along, and every bank command signed and verified by the simulator."""

from __future__ import annotations

import base64

import pytest
import requests

from shared.testing.waiting import wait_until
from tests.e2e.client import Api, Person, register_citizen, staff, wait_for_status
from tests.e2e.test_journeys import apply, hand_over
from tests.support import images

pytestmark = pytest.mark.e2e

SUN_LI = Person(
    "310104198807153324", "孙丽", "female", "1988-07-15", "汉", "上海市徐汇区漕溪北路1号"
)
LIVE = ("print_requested", "printed", "print_failed", "shipped", "ready_for_pickup")


def mine(citizen: Api) -> list[dict]:
    return citizen.call("GET", "printing", "/api/v1/cards/mine", expect=200).json()["items"]


def live_cards(citizen: Api) -> list[dict]:
    return [card for card in mine(citizen) if card["status"] not in ("replaced", "cancelled")]


def bank_status(stack) -> dict:
    return requests.get(stack.url("partner_bank") + "/control/v1/status", timeout=5).json()


# Long because it is one story, told in the order a holder and a bank counter live it.
def test_a_lost_card_is_blocked_replaced_and_the_new_card_activated(stack):
    requests.post(
        stack.url("identity_registry") + "/registry/v1/people",
        timeout=10,
        json=SUN_LI.__dict__
        | {"photo_base64": base64.b64encode(images.card_photo("biden")).decode()},
    ).raise_for_status()
    citizen, _ = register_citizen(stack, SUN_LI)
    application_id, outlet = apply(stack, citizen, SUN_LI, front=images.id_card_front("biden2"))
    ready = wait_for_status(citizen, application_id, "ready_for_pickup")
    old_id = ready["card"]["card_id"]
    hand_over(stack, outlet, old_id)
    wait_for_status(citizen, application_id, "activated")
    before = bank_status(stack)

    # The electronic card works while the card is live.
    qr = citizen.call("POST", "printing", f"/api/v1/cards/{old_id}/qr", expect=200).json()
    verify = stack.url("printing") + "/api/v1/ecard/verify"
    assert requests.post(verify, json={"payload": qr["payload"]}, timeout=5).json()["valid"]

    # Nobody else reports it lost: another citizen, another bank's operator.
    stranger, _ = register_citizen(stack, _a_stranger(stack))
    stranger.call("POST", "printing", f"/api/v1/cards/{old_id}/loss", expect=404)
    other_bank = "CCB" if outlet["bank_code"] != "CCB" else "ICBC"
    staff(stack, "bank_operator", bank_code=other_bank).call(
        "POST", "printing", f"/api/v1/cards/{old_id}/loss", expect=404
    )

    # The holder reports it lost: blocked at once, the e-card refused at once.
    lost = citizen.call("POST", "printing", f"/api/v1/cards/{old_id}/loss", expect=200).json()
    assert lost["status"] == "lost"
    refused = requests.post(verify, json={"payload": qr["payload"]}, timeout=5).json()
    assert (refused["valid"], refused["reason"]) == (False, "card_not_active")
    citizen.call("POST", "printing", f"/api/v1/cards/{old_id}/qr", expect=409)

    # Replacement: a new card, the old one replaced from that moment; one live card.
    new = citizen.call("POST", "printing", f"/api/v1/cards/{old_id}/replacement", expect=201)
    new_card = new.json()
    new_id = new_card["card_id"]
    assert new_card["replaces_card_id"] == old_id
    assert new_card["card_serial"] != ready["card"]["card_serial"]
    assert [card["card_id"] for card in live_cards(citizen)] == [new_id]
    citizen.call("POST", "printing", f"/api/v1/cards/{old_id}/replacement", expect=409)

    # The bank prints the new card; the outlet hands it over.
    operator = staff(stack, "bank_operator", bank_code=outlet["bank_code"])

    def card(card_id: str) -> dict:
        return operator.call("GET", "printing", f"/api/v1/cards/{card_id}", expect=200).json()

    wait_until(
        lambda: card(new_id)["status"] == "ready_for_pickup",
        timeout=60,
        what="the replacement card at the outlet",
    )
    hand_over(stack, outlet, new_id)
    statuses = {c["card_id"]: c["status"] for c in mine(citizen)}
    assert statuses == {new_id: "activated", old_id: "replaced"}
    assert [c["card_id"] for c in live_cards(citizen)] == [new_id]

    # Every command to the bank was signed, verified by the simulator, and confirmed.
    def confirmed():
        commands = card(old_id)["bank_commands"]
        return commands if commands and all(c["confirmed_at"] for c in commands) else None

    commands = wait_until(confirmed, timeout=30, what="the bank's confirmations")
    assert [c["command"] for c in commands] == ["card.block_request", "card.cancel_request"]
    after = bank_status(stack)
    assert after["commands_confirmed"] - before["commands_confirmed"] == 2
    assert after["bad_signatures"] == before["bad_signatures"]

    # The application follows the card that replaced the lost one; the holder is told.
    def follows_the_new_card():
        body = citizen.call(
            "GET", "application", f"/api/v1/applications/{application_id}", expect=200
        ).json()
        return body if body["card"]["card_id"] == new_id else None

    shown = wait_until(follows_the_new_card, timeout=30, what="the application's new card")
    assert shown["status"] == "activated"

    def told_twice():
        items = citizen.call("GET", "notification", "/api/v1/notifications", expect=200).json()
        texts = [
            item
            for item in items["items"]
            if item["event_type"] == "card.activated" and item["channel"] == "sms"
        ]
        return texts if len(texts) >= 2 else None

    wait_until(told_twice, timeout=30, what="the new card's activation notice")


def _a_stranger(stack) -> Person:
    person = Person("440304199003030024", "周敏", "female", "1990-03-03", "汉", "深圳市福田区1号")
    requests.post(
        stack.url("identity_registry") + "/registry/v1/people",
        timeout=10,
        json=person.__dict__ | {"photo_base64": None},
    ).raise_for_status()
    return person
