from __future__ import annotations

import json
import uuid

import pytest

from shared.errors import PermanentMessageError
from shared.messaging.envelope import new_event, parse_event


def cancelled() -> dict:
    return {"application_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4())}


def test_a_new_event_carries_every_contract_attribute():
    event = new_event(
        "application.cancelled",
        cancelled(),
        source="application",
        subject="s",
        correlation_id="c",
        causation_id="p",
    )
    body = json.loads(event.to_json())
    assert body["specversion"] == "1.0"
    assert uuid.UUID(body["id"])
    assert body["source"] == "/sscard/application"
    assert body["datacontenttype"] == "application/json"
    assert body["dataschema"] == "urn:sscard:application.cancelled:v1"
    assert body["time"].endswith("Z")
    assert (body["subject"], body["correlationid"], body["causationid"]) == ("s", "c", "p")
    assert parse_event(event.to_json()) == event


def test_publishing_data_that_does_not_match_its_schema_is_a_bug_caught_early():
    with pytest.raises(ValueError, match="account_id"):
        new_event("application.cancelled", {"application_id": str(uuid.uuid4())}, source="x")
    with pytest.raises(ValueError, match="Unknown field"):
        new_event("application.cancelled", {**cancelled(), "surprise": 1}, source="x")


def test_consumers_tolerate_added_fields_but_not_missing_ones():
    body = json.loads(new_event("application.cancelled", cancelled(), source="x").to_json())
    body["data"]["added_later"] = True
    assert parse_event(json.dumps(body).encode()).data["added_later"] is True
    del body["data"]["account_id"]
    with pytest.raises(PermanentMessageError, match="account_id"):
        parse_event(json.dumps(body).encode())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(type="nobody.knows"), "unknown event type"),
        (lambda b: b.update(specversion="0.3"), "specversion"),
        (lambda b: b.update(dataschema="urn:sscard:application.cancelled:v9"), "dataschema"),
        (lambda b: b.update({"Bad_Name": 1}), "Bad_Name"),
        (lambda b: b.pop("id"), "id"),
    ],
)
def test_malformed_envelopes_are_permanent_failures(mutate, message):
    body = json.loads(new_event("application.cancelled", cancelled(), source="x").to_json())
    mutate(body)
    with pytest.raises(PermanentMessageError, match=message):
        parse_event(json.dumps(body).encode())


ENVELOPE_VARIANTS = [
    {},
    {"id": "not-a-uuid"},
    {"id": 12},
    {"time": "yesterday"},
    {"time": "2026-11-25T10:00:00"},  # no offset
    {"time": "2026-11-25T10:00:00+08:00"},
    {"source": ""},
    {"type": None},
    {"subject": 5},
    {"subject": None},
    {"correlationid": ["x"]},
    {"datacontenttype": "text/plain"},
    {"data": []},
    {"dataschema": 3},
    {"Weird_Extension": "x"},
    {"signature": "abc", "signaturekeyid": "k1"},
    {"specversion": 1.0},
]


@pytest.mark.parametrize("change", ENVELOPE_VARIANTS)
def test_the_quick_envelope_check_never_accepts_what_the_schema_refuses(change):
    from shared.messaging.envelope import _ENVELOPE_SCHEMA, _plainly_valid

    body = json.loads(new_event("application.cancelled", cancelled(), source="x").to_json())
    body.update(change)
    if _plainly_valid(body):
        assert _ENVELOPE_SCHEMA.validate(body) == {}


def test_a_well_formed_envelope_takes_the_quick_path():
    from shared.messaging.envelope import _plainly_valid

    body = json.loads(new_event("application.cancelled", cancelled(), source="x").to_json())
    assert _plainly_valid(body)
    assert _plainly_valid(body | {"signature": "abc", "signaturekeyid": "k1"})
