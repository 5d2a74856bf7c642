"""docs/asyncapi.yaml is valid AsyncAPI 3.0, is exactly what the generator makes from the event
registry and the topology now, and documents every event type — so adding a type without
regenerating the document fails here."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from marshmallow import fields

from shared.messaging import asyncapi
from shared.messaging.envelope import new_event
from shared.messaging.events import REGISTRY, EventContract, EventData
from shared.messaging.topology import EXCHANGES, SUBSCRIPTIONS

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
ASYNCAPI_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"


@pytest.fixture(scope="module")
def committed() -> dict:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def undocumented_types(document: dict) -> set[str]:
    documented = {message["name"] for message in document["components"]["messages"].values()}
    return set(REGISTRY) - documented


def test_the_document_is_valid_asyncapi_3(committed):
    validator = Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(committed)]
    assert errors == []
    assert committed["asyncapi"] == "3.0.0"


def test_the_validator_would_notice_an_invalid_document(committed):
    validator = Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8")))
    broken = json.loads(json.dumps(committed))
    broken["operations"]["cardPrinted"]["action"] = "publish"  # AsyncAPI 2 wording
    assert not validator.is_valid(broken)


def test_the_committed_document_is_what_the_generator_makes_now():
    assert DOCUMENT.read_text(encoding="utf-8") == asyncapi.render(), (
        "docs/asyncapi.yaml is stale: run `python -m shared.messaging.asyncapi > "
        "docs/asyncapi.yaml`"
    )


def test_every_registry_type_is_documented_with_its_dataschema_and_exchange(committed):
    assert undocumented_types(committed) == set()
    messages = {m["name"]: m for m in committed["components"]["messages"].values()}
    channels = {c["title"]: c for c in committed["channels"].values()}
    for event_type, contract in REGISTRY.items():
        assert contract.summary.strip(), f"{event_type} has no summary"
        assert messages[event_type]["x-sscard-dataschema"] == contract.dataschema
        exchange = channels[event_type]["bindings"]["amqp"]["exchange"]
        assert exchange["name"] == contract.exchange
        assert exchange["type"] == EXCHANGES[contract.exchange]


def test_each_channel_names_the_services_the_topology_binds_to_it(committed):
    channels = {c["title"]: c for c in committed["channels"].values()}
    for service, bindings in SUBSCRIPTIONS.items():
        for binding in bindings:
            types = (
                [binding.routing_key]
                if binding.routing_key in REGISTRY
                else [t for t, c in REGISTRY.items() if c.exchange == binding.exchange]
            )
            for event_type in types:
                assert service in channels[event_type]["x-sscard-consumers"], (service, event_type)


def test_an_event_type_added_without_regenerating_the_document_is_caught(committed, monkeypatch):
    class ParcelLost(EventData):
        card_id = fields.UUID(required=True)

    monkeypatch.setitem(
        REGISTRY,
        "card.parcel_lost",
        EventContract("card.parcel_lost", ParcelLost, "sscard.events", "printing", "Lost."),
    )
    assert undocumented_types(committed) == {"card.parcel_lost"}
    assert DOCUMENT.read_text(encoding="utf-8") != asyncapi.render()


def _payload_validator(document: dict, message_id: str) -> Draft202012Validator:
    payload = document["components"]["messages"][message_id]["payload"]
    return Draft202012Validator({**payload, "components": document["components"]})


def test_real_messages_match_their_documented_payloads(committed):
    print_request = new_event(
        "card.print_request",
        {
            "card_id": str(uuid.uuid4()),
            "application_id": str(uuid.uuid4()),
            "bank_code": "ICBC",
            "outlet_id": str(uuid.uuid4()),
            "card_serial": "A12345678",
            "social_security_number": "11010519491231002X",
            "name": "张三",
            "gender": "female",
            "ethnicity": "汉族",
            "birth_date": "1949-12-31",
            "issue_date": "2026-11-25",
            "photo": {"content_type": "image/jpeg", "sha256": "0" * 64, "data_base64": "AA=="},
        },
        source="printing",
        extensions={"signature": "c2ln", "signaturekeyid": "k1"},
    )
    body = json.loads(print_request.to_json())
    validator = _payload_validator(committed, "cardPrintRequest")
    assert list(validator.iter_errors(body)) == []
    unsigned = {key: value for key, value in body.items() if key != "signature"}
    assert not validator.is_valid(unsigned)

    report = new_event(
        "bank.card_status",
        {"card_id": str(uuid.uuid4()), "status": "printed", "occurred_at": "2026-11-25T10:00:00Z"},
        source="/banks/ICBC",
    )
    validator = _payload_validator(committed, "bankCardStatus")
    assert validator.is_valid(json.loads(report.to_json()))
    assert not validator.is_valid({**json.loads(report.to_json()), "type": "card.printed"})
