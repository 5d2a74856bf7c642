"""Cards over REST: bank operators move only their own bank's cards (200, no-op 200, 409);
admins see every card and reprint after a failed print."""

from __future__ import annotations

import base64
import threading
import uuid

import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from werkzeug.serving import make_server

from services.printing.app import create_app
from services.printing.domain.print_message import verify
from tests.printing.factories import CCB_DONGCHENG
from tests.printing.integration.helpers import ordered_card, outbox_events

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(printing):
    settings, _database = printing
    app = create_app(settings)
    app.testing = True
    yield app.test_client()
    app.extensions["sscard"].database.dispose()


@pytest.fixture
def card(printing, files):
    settings, deps = printing
    return ordered_card(settings, deps, files)


def post_event(client, card_id, headers, status, **extra):
    return client.post(
        f"/api/v1/cards/{card_id}/events", json={"status": status, **extra}, headers=headers
    )


def test_a_bank_operator_moves_its_card_step_by_step(client, card, printing, token_authority):
    _settings, deps = printing
    database = deps.database
    icbc = token_authority.bank_operator("ICBC")
    printed = post_event(
        client, card.card_id, icbc, "printed", bank_account_masked="6222021234567890128"
    )
    assert printed.status_code == 200, printed.get_data(as_text=True)
    assert printed.get_json()["status"] == "printed"
    assert printed.get_json()["bank_account_masked"] == "622202*********0128"

    repeated = post_event(client, card.card_id, icbc, "printed")
    assert repeated.status_code == 200
    assert repeated.get_json()["status"] == "printed"
    assert len(outbox_events(database, "card.printed", card.card_id)) == 1  # a no-op

    for status in ("shipped", "ready_for_pickup", "collected", "activated"):
        assert post_event(client, card.card_id, icbc, status).status_code == 200
    [activated] = outbox_events(database, "card.activated", card.card_id)
    assert activated["data"]["card_id"] == card.card_id
    assert activated["data"]["account_id"] == card.account_id
    assert activated["correlationid"] == card.application_id

    timeline = client.get(f"/api/v1/cards/{card.card_id}", headers=icbc).get_json()["timeline"]
    assert [entry["status"] for entry in timeline] == [
        "print_requested",
        "printed",
        "shipped",
        "ready_for_pickup",
        "collected",
        "activated",
    ]


def test_impossible_and_premature_reports_are_409_and_change_nothing(
    client, card, printing, token_authority
):
    _settings, deps = printing
    database = deps.database
    icbc = token_authority.bank_operator("ICBC")
    premature = post_event(client, card.card_id, icbc, "collected")
    assert premature.status_code == 409
    assert premature.mimetype == PROBLEM
    assert premature.get_json()["card_status"] == "print_requested"
    assert post_event(client, card.card_id, icbc, "printed").status_code == 200
    impossible = post_event(client, card.card_id, icbc, "print_failed", reason="too late")
    assert impossible.status_code == 409
    assert outbox_events(database, "card.print_failed", card.card_id) == []
    assert post_event(client, card.card_id, icbc, "lost").status_code == 422


def test_another_bank_can_neither_see_nor_move_the_card(client, card, printing, token_authority):
    _settings, deps = printing
    database = deps.database
    ccb = token_authority.bank_operator("CCB")
    assert post_event(client, card.card_id, ccb, "printed").status_code == 404
    assert client.get(f"/api/v1/cards/{card.card_id}", headers=ccb).status_code == 404
    listed = client.get(f"/api/v1/cards?application_id={card.application_id}", headers=ccb)
    assert listed.status_code == 200
    assert listed.get_json()["items"] == []
    assert outbox_events(database, "card.printed", card.card_id) == []

    admin = token_authority.admin()
    assert post_event(client, card.card_id, admin, "printed").status_code == 403
    citizen = token_authority.citizen(card.account_id)
    assert client.get(f"/api/v1/cards/{card.card_id}", headers=citizen).status_code == 403
    nameless = token_authority.headers(["bank_operator"])
    assert client.get(f"/api/v1/cards/{card.card_id}", headers=nameless).status_code == 403


def test_cards_are_found_by_application_and_show_no_full_id_number(
    client, card, printing, files, token_authority
):
    settings, deps = printing
    other = ordered_card(settings, deps, files, bank_code="CCB", outlet_id=CCB_DONGCHENG)
    admin = token_authority.admin()
    found = client.get(f"/api/v1/cards?application_id={card.application_id}", headers=admin)
    [item] = found.get_json()["items"]
    assert item["card_id"] == card.card_id
    assert item["holder"] == {"name": "张秀英", "id_number_masked": "110105********002X"}
    assert "11010519491231002X" not in found.get_data(as_text=True)

    mine = client.get("/api/v1/cards", headers=token_authority.bank_operator("CCB")).get_json()
    assert other.card_id in {item["card_id"] for item in mine["items"]}
    assert all(item["bank_code"] == "CCB" for item in mine["items"])
    assert client.get("/api/v1/cards?limit=0", headers=admin).status_code == 422
    assert client.get("/api/v1/cards?application_id=nope", headers=admin).status_code == 422
    assert client.get(f"/api/v1/cards/{uuid.uuid4()}", headers=admin).status_code == 404


def test_print_failed_then_reprint_then_printed_with_a_new_serial_and_both_in_the_timeline(
    client, card, printing, token_authority
):
    _settings, deps = printing
    database = deps.database
    icbc, admin = token_authority.bank_operator("ICBC"), token_authority.admin()
    first_serial = card.card_serial
    assert client.post(f"/api/v1/cards/{card.card_id}/reprint", headers=admin).status_code == 409

    failed = post_event(client, card.card_id, icbc, "print_failed", reason="chip fault")
    assert failed.get_json()["status"] == "print_failed"
    assert failed.get_json()["reason"] == "chip fault"
    assert post_event(client, card.card_id, icbc, "printed").status_code == 409

    assert client.post(f"/api/v1/cards/{card.card_id}/reprint", headers=icbc).status_code == 403
    reprinted = client.post(f"/api/v1/cards/{card.card_id}/reprint", headers=admin)
    assert reprinted.status_code == 200, reprinted.get_data(as_text=True)
    second_serial = reprinted.get_json()["card_serial"]
    assert second_serial != first_serial
    assert reprinted.get_json()["print_count"] == 2
    again = client.post(f"/api/v1/cards/{card.card_id}/reprint", headers=admin)
    assert again.status_code == 409  # it is being printed again already

    messages = outbox_events(database, "card.print_request", card.card_id)
    assert [m["data"]["card_serial"] for m in messages] == [first_serial, second_serial]
    requested = outbox_events(database, "card.print_requested", card.card_id)
    assert [m["data"]["reprint"] for m in requested] == [False, True]

    # A late report about the first run changes nothing about the second.
    late = post_event(client, card.card_id, icbc, "print_failed", card_serial=first_serial)
    assert late.status_code == 200
    assert late.get_json()["status"] == "print_requested"
    assert post_event(client, card.card_id, icbc, "printed").status_code == 200

    body = client.get(f"/api/v1/cards/{card.card_id}", headers=admin).get_json()
    assert body["status"] == "printed"
    assert [s["card_serial"] for s in body["serials"]] == [first_serial, second_serial]
    assert [(entry["status"], entry["card_serial"]) for entry in body["timeline"]] == [
        ("print_requested", first_serial),
        ("print_failed", first_serial),
        ("print_requested", second_serial),
        ("printed", second_serial),
    ]


def test_the_served_key_verifies_the_print_message_and_no_changed_byte_passes(card, printing):
    settings, deps = printing
    database = deps.database
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        served = requests.get(f"http://127.0.0.1:{server.port}/api/v1/print-signing-key", timeout=5)
    finally:
        server.shutdown()
        app.extensions["sscard"].database.dispose()
    assert served.status_code == 200
    assert served.headers["Cache-Control"] == "public, max-age=300"
    key = served.json()
    assert key["algorithm"] == "Ed25519"
    assert key["keys"][0]["key_id"] == key["key_id"]
    [message] = outbox_events(database, "card.print_request", card.card_id)
    assert message["signaturekeyid"] == key["key_id"]

    public_key = load_pem_public_key(key["public_key_pem"].encode())
    data = message["data"]
    assert verify(public_key, data, message["signature"])
    for field in ("name", "social_security_number", "card_serial", "birth_date"):
        tampered = {**data, field: data[field][:-1] + chr(ord(data[field][-1]) ^ 1)}
        assert not verify(public_key, tampered, message["signature"])
    photo = base64.b64decode(data["photo"]["data_base64"])
    altered = base64.b64encode(bytes([photo[0] ^ 1]) + photo[1:]).decode()
    tampered = {**data, "photo": {**data["photo"], "data_base64": altered}}
    assert not verify(public_key, tampered, message["signature"])


def test_openapi_documents_the_card_routes_and_their_problems(client):
    spec = client.get("/openapi.json").get_json()
    events = spec["paths"]["/api/v1/cards/{card_id}/events"]["post"]
    assert {"200", "404", "409", "422"} <= set(events["responses"])
    assert events["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/v1/print-signing-key"]["get"]
