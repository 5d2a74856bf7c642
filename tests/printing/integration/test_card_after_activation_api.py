"""The card after activation over REST (holder, bank operator, admin; 200, 201, 404, 409) and
the banks' confirmations over the feedback exchange through the real consumer runner,
duplicated and out of order; and the electronic card over HTTP."""

from __future__ import annotations

import uuid

import jwt
import pytest

from services.printing.app import create_app
from services.printing.handlers import HANDLERS
from tests.printing.factories import CCB_DONGCHENG, ICBC_XICHENG, bank_report, delivery
from tests.printing.integration.helpers import handle, ordered_card, outbox_events


@pytest.fixture(scope="module")
def client(printing):
    settings, _deps = printing
    app = create_app(settings)
    app.testing = True
    yield app.test_client()
    app.extensions["sscard"].database.dispose()


@pytest.fixture
def card(printing, files, client, token_authority):
    """An activated ICBC card."""
    settings, deps = printing
    card = ordered_card(settings, deps, files)
    icbc = token_authority.bank_operator("ICBC")
    for status in ("printed", "shipped", "ready_for_pickup", "collected", "activated"):
        answer = client.post(
            f"/api/v1/cards/{card.card_id}/events", json={"status": status}, headers=icbc
        )
        assert answer.status_code == 200
    return card


def post(client, card_id, action, headers, **body):
    return client.post(f"/api/v1/cards/{card_id}/{action}", json=body or None, headers=headers)


def test_loss_unblock_and_their_refusals(client, card, printing, token_authority):
    _settings, deps = printing
    holder = token_authority.citizen(card.account_id)
    stranger = token_authority.citizen(str(uuid.uuid4()))
    icbc, ccb = token_authority.bank_operator("ICBC"), token_authority.bank_operator("CCB")

    assert post(client, card.card_id, "loss", stranger).status_code == 404
    assert post(client, card.card_id, "loss", ccb).status_code == 404
    assert post(client, card.card_id, "loss", token_authority.reviewer()).status_code == 403
    assert post(client, card.card_id, "unblock", icbc, outlet_id=ICBC_XICHENG).status_code == 409

    lost = post(client, card.card_id, "loss", holder)
    assert lost.status_code == 200, lost.get_data(as_text=True)
    assert lost.get_json()["status"] == "lost"
    assert post(client, card.card_id, "loss", icbc).get_json()["status"] == "lost"  # no-op
    assert len(outbox_events(deps.database, "card.reported_lost", card.card_id)) == 1
    [command] = outbox_events(deps.database, "card.block_request", card.card_id)
    assert command["signaturekeyid"] and command["signature"]

    # Only a bank operator of the card's bank unblocks it, at one of that bank's counters.
    assert post(client, card.card_id, "unblock", holder, outlet_id=ICBC_XICHENG).status_code == 403
    assert post(client, card.card_id, "unblock", ccb, outlet_id=CCB_DONGCHENG).status_code == 404
    assert post(client, card.card_id, "unblock", icbc, outlet_id=CCB_DONGCHENG).status_code == 422
    unblocked = post(client, card.card_id, "unblock", icbc, outlet_id=ICBC_XICHENG)
    assert unblocked.status_code == 200
    assert unblocked.get_json()["timeline"][-1]["outlet_id"] == ICBC_XICHENG
    assert [c["command"] for c in unblocked.get_json()["bank_commands"]] == [
        "card.block_request",
        "card.unblock_request",
    ]


def test_replacement_gives_a_new_card_and_mine_lists_both(client, card, token_authority):
    holder = token_authority.citizen(card.account_id)
    assert post(client, card.card_id, "replacement", holder).status_code == 409  # not lost
    assert post(client, card.card_id, "loss", holder).status_code == 200
    refused = post(client, card.card_id, "replacement", holder, outlet_id=CCB_DONGCHENG)
    assert refused.status_code == 422
    new = post(client, card.card_id, "replacement", holder)
    assert new.status_code == 201, new.get_data(as_text=True)
    body = new.get_json()
    assert body["status"] == "print_requested" and body["replaces_card_id"] == card.card_id
    assert body["card_serial"] != card.card_serial
    again = post(client, card.card_id, "replacement", holder)
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"

    mine = client.get("/api/v1/cards/mine", headers=holder).get_json()["items"]
    assert [(c["card_id"], c["status"]) for c in mine] == [
        (body["card_id"], "print_requested"),
        (card.card_id, "replaced"),
    ]
    live = [c for c in mine if c["status"] not in ("replaced", "cancelled")]
    assert len(live) == 1
    # The holder sees who moved the card by kind only, and no bank bookkeeping.
    assert {entry["source"] for entry in mine[1]["timeline"]} == {
        "printing",
        "operator",
        "holder",
    }
    assert mine[1]["bank_commands"] == []
    other = client.get("/api/v1/cards/mine", headers=token_authority.citizen(str(uuid.uuid4())))
    assert other.get_json()["items"] == []


def test_cancellation_is_an_admins_with_a_reason_from_the_list(client, card, token_authority):
    admin = token_authority.admin()
    holder = token_authority.citizen(card.account_id)
    assert post(client, card.card_id, "cancel", holder, reason="death").status_code == 403
    assert post(client, card.card_id, "cancel", admin, reason="bored").status_code == 422
    cancelled = post(client, card.card_id, "cancel", admin, reason="emigration")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert post(client, card.card_id, "cancel", admin, reason="emigration").status_code == 200
    for action in ("loss", "replacement"):
        assert post(client, card.card_id, action, holder).status_code == 409
    icbc = token_authority.bank_operator("ICBC")
    late = client.post(
        f"/api/v1/cards/{card.card_id}/events", json={"status": "activated"}, headers=icbc
    )
    assert late.status_code == 409


def test_bank_confirmations_over_the_feedback_exchange(client, card, printing, token_authority):
    settings, deps = printing
    holder = token_authority.citizen(card.account_id)
    icbc = token_authority.bank_operator("ICBC")
    post(client, card.card_id, "loss", holder)
    post(client, card.card_id, "unblock", icbc, outlet_id=ICBC_XICHENG)
    [block] = outbox_events(deps.database, "card.block_request", card.card_id)
    [unblock] = outbox_events(deps.database, "card.unblock_request", card.card_id)

    def confirmation(status, command_id, bank_code="ICBC"):
        event = bank_report(card.card_id, status, bank_code=bank_code)
        event.data["command_id"] = command_id
        return delivery(event, f"bank.{bank_code}.{status}")

    def report(status, **fields):
        return delivery(bank_report(card.card_id, status, **fields), f"bank.ICBC.{status}")

    confirm_unblock = confirmation("unblocked", unblock["id"])
    confirm_block = confirmation("blocked", block["id"])
    # Out of order, and the first one twice: each recorded once; the card does not move.
    outcomes = [
        handle(settings, deps, HANDLERS, event)[0]
        for event in (confirm_unblock, confirm_block, confirm_unblock)
    ]
    assert outcomes == ["handled", "handled", "duplicate"]
    # The same confirmation sent again under a new id changes nothing either.
    assert handle(settings, deps, HANDLERS, confirmation("blocked", block["id"])) == ["handled"]
    shown = client.get(f"/api/v1/cards/{card.card_id}", headers=icbc).get_json()
    assert shown["status"] == "activated"
    assert all(command["confirmed_at"] for command in shown["bank_commands"])
    # A confirmation of a command never sent, or as another kind, is parked.
    for wrong in (
        confirmation("cancelled", block["id"]),
        confirmation("blocked", str(uuid.uuid4())),
    ):
        assert handle(settings, deps, HANDLERS, wrong) == ["dead_letter"]
    # A late main-line report about the lost card repeats; a print_failed is impossible.
    post(client, card.card_id, "loss", holder)
    assert handle(settings, deps, HANDLERS, report("shipped")) == ["handled"]
    failed = report("print_failed", reason="jam")
    assert handle(settings, deps, HANDLERS, failed) == ["dead_letter"]
    shown = client.get(f"/api/v1/cards/{card.card_id}", headers=icbc).get_json()
    assert shown["status"] == "lost"


def test_the_electronic_card_over_http(client, card, token_authority):
    holder = token_authority.citizen(card.account_id)
    assert (
        client.post(
            f"/api/v1/cards/{card.card_id}/qr", headers=token_authority.citizen(str(uuid.uuid4()))
        ).status_code
        == 404
    )
    issued = client.post(f"/api/v1/cards/{card.card_id}/qr", headers=holder)
    assert issued.status_code == 200
    payload = issued.get_json()["payload"]
    keys = client.get("/api/v1/ecard/keys").get_json()["keys"]
    [key] = [k for k in keys if k["kid"] == issued.get_json()["key_id"]]
    # Offline, with the published key alone, as any JOSE library does it.
    claims = jwt.decode(payload, key=jwt.PyJWK(key).key, algorithms=["EdDSA"])
    assert claims["sub"] == card.card_id and claims["exp"] - claims["iat"] == 60
    verdict = client.post("/api/v1/ecard/verify", json={"payload": payload}).get_json()
    assert verdict["valid"] is True
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    verdict = client.post("/api/v1/ecard/verify", json={"payload": tampered}).get_json()
    assert verdict == {"valid": False, "reason": "bad_signature"}

    assert post(client, card.card_id, "loss", holder).status_code == 200
    verdict = client.post("/api/v1/ecard/verify", json={"payload": payload}).get_json()
    assert (verdict["valid"], verdict["reason"]) == (False, "card_not_active")
    assert client.post(f"/api/v1/cards/{card.card_id}/qr", headers=holder).status_code == 409
