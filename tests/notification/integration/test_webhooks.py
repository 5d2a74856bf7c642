"""Integrators' webhooks: signed with Standard Webhooks, retried with backoff until they are
delivered, isolated from each other, and never carrying personal data."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from services.notification.models import WebhookAttempt, WebhookSubscription
from shared.testing.receivers import Receiver
from shared.testing.running import running_consumer
from shared.testing.waiting import event_waiter
from tests.notification.factories import ID_NUMBER, FakeClock, Journey
from tests.notification.integration.conftest import make_service, publish


@pytest.fixture
def consuming_service(settings_factory, fresh_broker_url):
    under_test = make_service(settings_factory, amqp_url=fresh_broker_url)
    yield under_test
    for dispatcher in under_test.dispatchers:
        dispatcher.close()
    under_test.database.dispose()


def _run_in_thread(dispatcher):
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    return thread


def test_a_delivery_verifies_with_standardwebhooks_and_carries_no_id_number(
    consuming_service, token_authority
):
    service = consuming_service
    integrator = token_authority.integrator()
    journey = Journey()
    leaky = journey.card("ready_for_pickup")
    # A producer that (wrongly) adds personal data must not get it past the webhook.
    leaky = leaky.__class__(
        **{**leaky.__dict__, "data": {**leaky.data, "id_number": ID_NUMBER, "reason": ID_NUMBER}}
    )
    with Receiver() as receiver:
        created = service.subscribe(integrator, receiver.url, ["card.*"])
        assert created["secret"].startswith("whsec_")
        dispatcher = service.dispatcher()
        thread = _run_in_thread(dispatcher)
        try:
            with running_consumer(service.settings, service.database, service.handlers) as runner:
                events = [journey.account_registered(), journey.application_submitted(), leaky]
                with event_waiter(runner, count=len(events) * 2) as waiter:
                    publish(service.settings, events, copies=2)
                    waiter.wait(20)
            [request] = receiver.wait_for(1)
            assert not _more_requests(receiver, 1)
        finally:
            dispatcher.stop()
            thread.join(10)

    headers = request.headers
    assert headers["Content-Type"] == "application/cloudevents+json"
    assert headers["webhook-id"] == leaky.id
    assert headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    payload = Webhook(created["secret"]).verify(request.body, headers)
    assert payload["type"] == "card.ready_for_pickup"
    assert payload["id"] == leaky.id and payload["subject"] == journey.card_id
    assert payload["data"]["outlet_id"] == journey.outlet_id
    assert ID_NUMBER.encode() not in request.body
    assert payload["data"]["reason"] == "110105********002X"
    assert "id_number" not in payload["data"]

    tampered = request.body.replace(b"ready_for_pickup", b"activated")
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(request.body, {**headers, "webhook-id": "other"})


def _more_requests(receiver: Receiver, expected: int) -> bool:
    try:
        receiver.wait_for(expected + 1, timeout=0.5)
    except AssertionError:
        return False
    return True


def test_a_receiver_failing_three_times_gets_the_event_once_with_four_attempts(
    service, token_authority
):
    integrator = token_authority.integrator()
    journey = Journey()
    with Receiver([500, 503, 502, 200]) as receiver:
        created = service.subscribe(integrator, receiver.url, ["card.shipped"])
        service.handle(journey.card("shipped"), journey.card("printed"))
        clock = FakeClock()
        dispatcher = service.dispatcher(clock=clock)
        for attempt in range(1, 5):
            assert dispatcher.run_once() == 1, f"attempt {attempt} was not due"
            assert len(receiver.wait_for(attempt)) == attempt
            # Nothing is due again before the backoff has passed.
            assert dispatcher.run_once() == 0
            [delivery] = service.deliveries(created["subscription_id"])
            if delivery.next_attempt_at:
                clock.move_to(delivery.next_attempt_at)
        clock.advance(timedelta(days=2))
        assert dispatcher.run_once() == 0
    assert len(receiver.requests) == 4
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1

    response = service.client.get(
        f"/api/v1/subscriptions/{created['subscription_id']}/deliveries", headers=integrator
    )
    assert response.status_code == 200
    [delivery] = response.get_json()["items"]
    assert delivery["status"] == "delivered"
    assert delivery["attempt_count"] == 4
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 502, 200]
    assert [a["succeeded"] for a in delivery["attempts"]] == [False, False, False, True]
    assert [a["attempt"] for a in delivery["attempts"]] == [1, 2, 3, 4]
    times = [a["attempted_at"] for a in delivery["attempts"]]
    assert times == sorted(times)
    subscription = service.client.get(
        f"/api/v1/subscriptions/{created['subscription_id']}", headers=integrator
    ).get_json()
    assert subscription["status"] == "active" and subscription["failing_since"] is None


def test_a_hanging_receiver_does_not_delay_a_healthy_one(service, token_authority):
    events = [Journey().card("printed") for _ in range(24)]
    release = threading.Event()
    with (
        Receiver(hang=release) as hanging,
        Receiver() as healthy,
    ):
        service.subscribe(token_authority.integrator(), hanging.url, ["card.printed"])
        service.subscribe(token_authority.integrator(), healthy.url, ["card.printed"])
        service.handle(*events)
        # Fewer threads than deliveries: a dispatcher without per-subscription limits would
        # have every thread stuck on the hanging receiver.
        config = _config(service, workers=6, webhook_max_in_flight=2, read_timeout=20.0)
        dispatcher = service.dispatcher(config=config)
        started = time.monotonic()
        thread = _run_in_thread(dispatcher)
        try:
            hanging.wait_for(1)
            received = healthy.wait_for(len(events), timeout=10)
            healthy_done = max(r.at for r in received) - started
            # The hanging receiver still holds its requests, and never more than its share.
            assert not release.is_set()
            assert hanging.max_concurrent == len(hanging.requests) == 2
        finally:
            release.set()
            dispatcher.stop()
            thread.join(15)
    # Every healthy delivery arrived before a single hanging request could even time out.
    assert healthy_done < config.read_timeout
    assert len({r.headers["webhook-id"] for r in received}) == len(events)


def _config(service, **changes):
    from dataclasses import replace

    from services.notification.config import notification_config

    return replace(notification_config(service.settings), **changes)


def test_a_subscription_failing_for_24_hours_is_disabled_and_its_owner_told(
    service, token_authority
):
    owner = token_authority.integrator()
    service.client.put(
        "/api/v1/channels/email", json={"address": "ops@bank.example"}, headers=owner
    )
    journey = Journey()
    with Receiver(default=503) as receiver:
        created = service.subscribe(owner, receiver.url, ["card.*", "verification.*"])
        subscription_id = created["subscription_id"]
        service.handle(journey.card("printed"))
        clock = FakeClock()
        start = clock.now
        dispatcher = service.dispatcher(clock=clock)
        attempts = 0
        while _status(service, subscription_id) == "active":
            assert dispatcher.run_once() == 1
            attempts += 1
            [delivery] = service.deliveries(subscription_id)
            if delivery.next_attempt_at is None:
                continue
            clock.move_to(delivery.next_attempt_at)
            assert attempts < 40
        assert len(receiver.requests) == attempts
    assert timedelta(hours=24) <= clock.now - start <= timedelta(hours=29)
    assert 10 <= attempts <= 20

    with service.database.session_factory() as session:
        rows = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number)).all()
    assert [a.number for a in rows] == list(range(1, attempts + 1))
    gaps = [b.attempted_at - a.attempted_at for a, b in itertools.pairwise(rows)]
    assert gaps[0] < timedelta(minutes=1) < gaps[4] < timedelta(hours=1) < max(gaps)

    view = service.client.get(f"/api/v1/subscriptions/{subscription_id}", headers=owner).get_json()
    assert view["status"] == "disabled" and "24 hours" in view["disabled_reason"]

    notices = service.client.get("/api/v1/notifications", headers=owner).get_json()["items"]
    assert {(n["channel"], n["status"]) for n in notices} == {
        ("inbox", "sent"),
        ("email", "queued"),
    }
    assert all(subscription_id in n["body"] for n in notices)

    # Nothing more goes to a disabled subscription.
    service.handle(journey.card("shipped"))
    clock.advance(timedelta(days=1))
    dispatcher.run_once()
    assert len(receiver.requests) == attempts
    assert [d.event_type for d in service.deliveries(subscription_id)] == ["card.printed"]


def _status(service, subscription_id: str) -> str:
    with service.database.session_factory() as session:
        return session.get(WebhookSubscription, subscription_id).status


def test_only_public_events_reach_subscribers(service, token_authority):
    journey = Journey()
    with Receiver() as receiver:
        created = service.subscribe(token_authority.admin(), receiver.url, ["*"])
        service.handle(
            journey.account_registered(),
            journey.outlet_upserted(),
            journey.application_submitted(),
            journey.verification("approved"),
        )
        dispatcher = service.dispatcher()
        dispatcher.run_once()
        types = sorted(r.json()["type"] for r in receiver.wait_for(2))
    assert types == ["outlet.upserted", "verification.approved"]
    assert {d.event_type for d in service.deliveries(created["subscription_id"])} == set(types)


def test_verification_started_reaches_its_subscribers_once_and_never_the_citizen(
    consuming_service, token_authority
):
    service = consuming_service
    journey = Journey()
    started = journey.verification("started")
    with Receiver() as receiver:
        by_glob = service.subscribe(token_authority.integrator(), receiver.url, ["verification.*"])
        by_name = service.subscribe(
            token_authority.integrator(), receiver.url, ["verification.started"]
        )
        others = service.subscribe(
            token_authority.integrator(), receiver.url, ["verification.approved", "card.*"]
        )
        events = [journey.account_registered(), journey.application_submitted(), started]
        with (
            running_consumer(service.settings, service.database, service.handlers) as runner,
            event_waiter(runner, count=len(events) * 2) as waiter,
        ):
            publish(service.settings, events, copies=2)
            settled = waiter.wait(20)
        copies = [item for item in settled if item.event and item.event.id == started.id]
        assert sorted(item.outcome.value for item in copies) == ["duplicate", "handled"]
        for subscription in (by_glob, by_name):
            [delivery] = service.deliveries(subscription["subscription_id"])
            assert (delivery.event_id, delivery.event_type) == (started.id, "verification.started")
        assert service.deliveries(others["subscription_id"]) == []

        service.dispatcher().run_once()
        received = receiver.wait_for(2)
    assert {r.headers["webhook-id"] for r in received} == {started.id}
    assert received[0].json()["data"] == {
        "application_id": journey.application_id,
        "account_id": journey.account_id,
        "case_id": journey.case_id,
    }
    # The citizen hears of the submission, then of the outcome; not that checking began.
    notes = service.notifications(journey.account_id)
    assert {n.event_type for n in notes} == {"application.submitted"}


def test_the_address_is_checked_again_when_delivering(settings_factory, token_authority):
    """Allowed when the subscription was made; refused at delivery once the setting is off (as
    a name re-pointed at a private address would be). The receiver hears nothing."""
    service = make_service(settings_factory)
    try:
        with Receiver() as receiver:
            created = service.subscribe(token_authority.integrator(), receiver.url, ["card.*"])
            service.handle(Journey().card("collected"))
            strict = _config(service, allow_private_destinations=False)
            service.dispatcher(config=strict).run_once()
            assert receiver.requests == []
        [delivery] = service.deliveries(created["subscription_id"])
        assert delivery.status == "pending" and delivery.attempt_count == 1
        assert "127.0.0.1 is a loopback address" in delivery.last_error
    finally:
        for dispatcher in service.dispatchers:
            dispatcher.close()
        service.database.dispose()


def test_a_redirect_is_a_failed_attempt_not_followed(service, token_authority):
    with Receiver([307]) as receiver:
        created = service.subscribe(token_authority.integrator(), receiver.url, ["card.*"])
        service.handle(Journey().card("activated"))
        service.dispatcher().run_once()
        assert len(receiver.requests) == 1
    [delivery] = service.deliveries(created["subscription_id"])
    assert delivery.status == "pending"
    assert delivery.last_error == "HTTP 307 (redirects are not followed)"


def test_an_endpoint_that_never_answers_times_out_and_is_retried(service, token_authority):
    release = threading.Event()
    with Receiver(hang=release) as receiver:
        created = service.subscribe(token_authority.integrator(), receiver.url, ["card.*"])
        service.handle(Journey().card("activated"))
        config = _config(service, read_timeout=0.3)
        service.dispatcher(config=config).run_once(timeout=10)
        release.set()
    [delivery] = service.deliveries(created["subscription_id"])
    assert delivery.status == "pending" and delivery.last_error == "timeout: read"


def test_two_dispatchers_share_the_work_without_sending_anything_twice(service, token_authority):
    events = [Journey().card("shipped") for _ in range(40)]
    with Receiver() as receiver:
        created = service.subscribe(token_authority.integrator(), receiver.url, ["card.*"])
        service.handle(*events)
        dispatchers = [service.dispatcher(), service.dispatcher()]
        threads = [_run_in_thread(dispatcher) for dispatcher in dispatchers]
        try:
            received = receiver.wait_for(len(events))
            assert not _more_requests(receiver, len(events))
        finally:
            for dispatcher in dispatchers:
                dispatcher.stop()
            for thread in threads:
                thread.join(10)
    assert sorted(r.headers["webhook-id"] for r in received) == sorted(e.id for e in events)
    assert {d.status for d in service.deliveries(created["subscription_id"])} == {"delivered"}
