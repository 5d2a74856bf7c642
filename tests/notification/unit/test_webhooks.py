"""Webhook rules: Standard Webhooks signatures, which events may be subscribed to, what an
integrator may see of an event, and the retry schedule."""

from __future__ import annotations

import itertools
import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notification.domain.delivery import RetryPolicy
from services.notification.domain.webhooks import (
    DELIVERABLE_TYPES,
    matching_types,
    new_secret,
    public_payload,
    secret_key,
    subscribes_to,
    validate_event_patterns,
    webhook_headers,
)
from shared.errors import InvalidInput
from shared.messaging.envelope import new_event
from tests.notification.factories import ID_NUMBER, Journey


def _signed(secret: str, body: bytes) -> dict[str, str]:
    return webhook_headers(secret_key(secret), "msg-1", int(time.time()), body)


def test_a_signature_verifies_with_standardwebhooks_and_a_changed_body_fails():
    secret = new_secret()
    body = public_payload(Journey().card("shipped"))
    headers = _signed(secret, body)
    assert Webhook(secret).verify(body, headers)["type"] == "card.shipped"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"shipped", b"printed"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_generated_secrets_follow_the_standard_and_supplied_ones_are_checked():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    assert secret != new_secret()
    for bad in ("plain-password", "whsec_***", "whsec_" + "QUJD", "whsec_" + "A" * 200):
        with pytest.raises(InvalidInput) as error:
            secret_key(bad)
        assert "secret" in error.value.errors


def test_patterns_are_globs_over_public_event_types():
    assert validate_event_patterns(["card.*", " verification.rejected ", "card.*"]) == [
        "card.*",
        "verification.rejected",
    ]
    assert set(matching_types(["card.*"])) == {
        "card.print_requested",
        "card.printed",
        "card.print_failed",
        "card.shipped",
        "card.ready_for_pickup",
        "card.collected",
        "card.activated",
        "card.reported_lost",
        "card.unblocked",
        "card.replaced",
        "card.cancelled",
        "card.expiry_approaching",
    }
    assert "account.registered" not in DELIVERABLE_TYPES
    assert "application.submitted" not in DELIVERABLE_TYPES
    assert subscribes_to(["*"], "outlet.upserted")
    assert not subscribes_to(["*"], "application.submitted")


def test_verification_started_is_deliverable_by_name_and_by_glob():
    assert "verification.started" in DELIVERABLE_TYPES
    assert validate_event_patterns(["verification.started"]) == ["verification.started"]
    assert "verification.started" in matching_types(["verification.*"])
    assert subscribes_to(["verification.*"], "verification.started")


@pytest.mark.parametrize(
    "pattern", ["application.submitted", "account.*", "nothing.*", "Card.*", ""]
)
def test_patterns_that_match_no_public_event_are_refused(pattern):
    with pytest.raises(InvalidInput) as error:
        validate_event_patterns([pattern])
    assert "event_types" in error.value.errors


def test_an_integrator_never_sees_a_full_id_number_or_fields_outside_the_schema():
    journey = Journey()
    event = new_event(
        "card.printed",
        {
            "card_id": journey.card_id,
            "application_id": journey.application_id,
            "account_id": journey.account_id,
            "bank_code": "ICBC",
            "outlet_id": journey.outlet_id,
            "reason": f"reprinted for {ID_NUMBER}",
        },
        source="printing",
        subject=journey.card_id,
    )
    # A producer adding personal fields later (docs/contract.md §4.3 allows it) must not leak them.
    leaky = event.__class__(
        **{
            **event.__dict__,
            "data": {
                **event.data,
                "social_security_number": ID_NUMBER,
                "holder": {"id": ID_NUMBER},
            },
            "extensions": {"signature": "abc"},
        }
    )
    body = public_payload(leaky)
    assert ID_NUMBER.encode() not in body
    payload = json.loads(body)
    assert payload["data"]["reason"] == "reprinted for 110105********002X"
    assert "social_security_number" not in payload["data"] and "holder" not in payload["data"]
    assert "signature" not in payload
    assert payload["id"] == event.id and payload["specversion"] == "1.0"
    assert payload["dataschema"] == "urn:sscard:card.printed:v1"


def test_backoff_grows_with_jitter_and_spans_about_a_day():
    policy = RetryPolicy()
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(1, 12)]
    assert timedelta(seconds=7.5) <= delays[0] <= timedelta(seconds=12.5)
    assert all(later > earlier for earlier, later in itertools.pairwise(delays[:7]))
    assert max(delays) <= policy.cap * 1.25
    # Replay a receiver that never answers: attempts until the policy gives up.
    start = now = datetime(2026, 11, 25, tzinfo=UTC)
    attempts = 0
    while True:
        attempts += 1
        if policy.gives_up(start, now):
            break
        now += policy.delay(attempts, rng)
    assert timedelta(hours=24) <= now - start <= timedelta(hours=29)
    assert 10 <= attempts <= 20
    assert policy.disables(start, now) and not policy.disables(start, start + timedelta(hours=23))
    assert not policy.disables(None, now)


def test_jitter_spreads_retries_of_many_deliveries():
    policy = RetryPolicy()
    spread = {policy.delay(3).total_seconds() for _ in range(50)}
    assert len(spread) > 40
    assert min(spread) >= 90 * 0.75 and max(spread) <= 90 * 1.25
