"""What of each event an integrator receives: an explicit allow-list per event type, with no
account id, no reviewer id and no check measurements, and a per-subscription pseudonym of the
person instead."""

from __future__ import annotations

import json
import uuid

import pytest

from services.notification.domain.payloads import (
    HOLDER_REF,
    PAYLOAD_FIELDS,
    PERSON_EVENT_TYPES,
    allowed_keys,
    holder_ref,
    new_pseudonym_salt,
    outgoing_data,
)
from services.notification.domain.webhooks import DELIVERABLE_TYPES, delivery_body, public_payload
from shared.messaging.events import REGISTRY
from shared.messaging.topology import SUBSCRIPTIONS
from tests.notification.factories import ID_NUMBER, Journey

REVIEWER = "reviewer-7f3a"
# Keys no integrator may ever receive, at any depth of the payload.
FORBIDDEN = {"account_id", "decided_by", "checks", "detail", "case_id", "codes"}


def _every_public_event(journey: Journey) -> list:
    """One event of every type a subscriber can receive, each with every field a producer may
    send, plus personal and internal fields a careless producer might add."""
    extras = {
        "decided_by": REVIEWER,
        "checks": [
            {
                "check": "id_card_face_match",
                "outcome": "review",
                "detail": "face distance 0.58 (threshold 0.45)",
                "codes": ["face_distance_high"],
            }
        ],
        "case_id": journey.case_id,
        "distance": 0.58,
        "id_number": ID_NUMBER,
        "applicant": {"name": "李娜", "id_number": ID_NUMBER},
        "account_id": journey.account_id,
    }
    events = []
    for event_type in DELIVERABLE_TYPES:
        family, _, name = event_type.partition(".")
        if family == "outlet":
            event = journey.outlet_upserted()
        elif family == "application":
            event = journey.application_cancelled()
        elif family == "verification":
            event = journey.verification(name)
        elif name == "print_requested":
            event = journey.card(name, card_serial="A12345678", reprint=False)
        elif (after := _after_activation(journey, event_type)) is not None:
            event = after
        else:
            event = journey.card(
                name,
                card_serial="A12345678",
                reason="ribbon jam",
                occurred_at="2026-12-04T10:00:00.000Z",
            )
        events.append(event.__class__(**{**event.__dict__, "data": {**event.data, **extras}}))
    return events


def _after_activation(journey: Journey, event_type: str):
    """The event of this type in a card's life after activation, if it is one of those."""
    return next((e for e in journey.after_activation() if e.type == event_type), None)


def _keys(value, found=None) -> set[str]:
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)
    return found


def test_every_public_event_the_service_hears_has_an_allow_list():
    heard = {
        binding.routing_key
        for binding in SUBSCRIPTIONS["notification"]
        if binding.routing_key in REGISTRY and REGISTRY[binding.routing_key].public
    }
    assert set(PAYLOAD_FIELDS) == heard == set(DELIVERABLE_TYPES)


def test_every_allow_listed_field_is_one_its_event_declares_and_none_is_forbidden():
    for event_type, fields in PAYLOAD_FIELDS.items():
        declared = REGISTRY[event_type].schema().fields
        assert set(fields) <= set(declared), event_type
        assert not set(fields) & FORBIDDEN, event_type
        for inner in fields.values():
            assert not set(inner or ()) & FORBIDDEN, event_type


@pytest.mark.parametrize("event", _every_public_event(Journey()), ids=lambda e: e.type)
def test_a_delivered_payload_holds_only_allowed_keys(event):
    salt = new_pseudonym_salt()
    ref = holder_ref(salt, event.data["account_id"]) if event.type in PERSON_EVENT_TYPES else None
    body = delivery_body(public_payload(event).decode(), ref)
    payload = json.loads(body)
    assert set(payload["data"]) <= allowed_keys(event.type)
    assert not _keys(payload["data"]) & FORBIDDEN
    for forbidden_value in (event.data["account_id"], REVIEWER, "0.58", "distance", ID_NUMBER):
        assert forbidden_value.encode() not in body, (event.type, forbidden_value)
    assert set(payload) <= {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "datacontenttype",
        "dataschema",
        "subject",
        "correlationid",
        "data",
    }
    if event.type in PERSON_EVENT_TYPES:
        assert payload["data"][HOLDER_REF] == ref


def test_a_rejection_keeps_its_reason_codes_and_loses_their_details():
    event = Journey().verification("rejected", decided_by=REVIEWER)
    data = json.loads(public_payload(event))["data"]
    assert data["reasons"] == [{"code": "photo_single_face"}, {"code": "identity_registry_match"}]


def test_a_value_of_the_wrong_shape_is_left_out():
    assert outgoing_data("card.printed", {"card_id": {"nested": "x"}, "reason": ["a"]}) == {}
    assert outgoing_data("no.such_type", {"card_id": "x"}) == {}
    assert outgoing_data(
        "verification.rejected", {"reasons": [{"code": "x", "detail": "y"}, "junk"]}
    ) == {"reasons": [{"code": "x"}]}


def test_the_subject_is_the_events_own_resource_never_a_person():
    journey = Journey()
    card = journey.card("shipped")
    card = card.__class__(**{**card.__dict__, "subject": journey.account_id})
    payload = json.loads(public_payload(card))
    assert payload["subject"] == journey.card_id
    assert payload["correlationid"] == journey.application_id
    assert json.loads(public_payload(journey.verification("approved")))["subject"] == (
        journey.application_id
    )


def test_a_holder_ref_is_stable_per_subscription_and_differs_between_them():
    account = str(uuid.uuid4())
    first, second = new_pseudonym_salt(), new_pseudonym_salt()
    assert holder_ref(first, account) == holder_ref(first, account)
    assert holder_ref(first, account) != holder_ref(second, account)
    assert holder_ref(first, account) != holder_ref(first, str(uuid.uuid4()))
    assert account not in holder_ref(first, account)
    assert holder_ref(first, account).startswith("h_") and len(holder_ref(first, account)) == 34


def test_an_event_about_no_person_is_sent_as_stored():
    stored = public_payload(Journey().outlet_upserted()).decode()
    assert delivery_body(stored, None) == stored.encode()
