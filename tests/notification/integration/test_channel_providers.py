"""Channel providers: the HTTP gateway provider posts each notification with its id as the
idempotency key, retries briefly, and statuses end as `sent` or `failed`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.testing.receivers import Receiver
from tests.notification.factories import FakeClock, Journey
from tests.notification.integration.conftest import make_service


@pytest.fixture
def gateway_service(settings_factory):
    services = []

    def start(gateway: Receiver, **env):
        under_test = make_service(
            settings_factory,
            SMS_PROVIDER="http",
            SMS_GATEWAY_URL=gateway.url,
            EMAIL_PROVIDER="http",
            EMAIL_GATEWAY_URL=gateway.url,
            GATEWAY_TIMEOUT="2",
            GATEWAY_RETRIES="1",
            NOTIFICATION_MAX_ATTEMPTS="2",
            **env,
        )
        services.append(under_test)
        return under_test

    yield start
    for under_test in services:
        for dispatcher in under_test.dispatchers:
            dispatcher.close()
        under_test.database.dispose()


def test_the_gateway_gets_each_notification_once_despite_a_hiccup(gateway_service, token_authority):
    journey = Journey()

    def answer(request, earlier) -> int:
        # sms: one 503, then accepted on the provider's own quick retry; email: refused.
        if request.json()["channel"] == "email":
            return 400
        return 503 if not any(e.json()["channel"] == "sms" for e in earlier) else 200

    with Receiver(answer=answer) as gateway:
        service = gateway_service(gateway)
        token = token_authority.citizen(journey.account_id)
        service.handle(journey.account_registered(), journey.outlet_upserted())
        service.client.put(
            "/api/v1/channels/email", json={"address": "lina@example.com"}, headers=token
        )
        service.handle(journey.application_submitted())
        dispatcher = service.dispatcher()
        while dispatcher.run_once():
            pass
        posts = gateway.wait_for(3)
    by_channel = {n.channel: n for n in service.notifications(journey.account_id)}
    assert by_channel["sms"].status == "sent"
    assert by_channel["email"].status == "failed"
    assert by_channel["email"].last_error == "email gateway answered 400"
    sms_posts = [p for p in posts if p.json()["channel"] == "sms"]
    assert len(sms_posts) == 2
    assert {p.headers["Idempotency-Key"] for p in sms_posts} == {by_channel["sms"].notification_id}
    assert sms_posts[0].json()["to"] == "13812345678"
    assert journey.acceptance_number in sms_posts[0].json()["body"]


def test_a_gateway_that_stays_down_leaves_the_notification_failed_after_its_attempts(
    gateway_service,
):
    journey = Journey()
    with Receiver(default=503) as gateway:
        service = gateway_service(gateway)
        service.handle(journey.account_registered(), journey.application_cancelled())
        clock = FakeClock()
        dispatcher = service.dispatcher(clock=clock)
        dispatcher.run_once()
        [note] = service.notifications(journey.account_id)
        assert (note.status, note.attempts) == ("queued", 1)
        assert note.next_attempt_at > clock.now
        assert dispatcher.run_once() == 0  # backing off
        clock.advance(timedelta(hours=2))
        dispatcher.run_once()
        assert len(gateway.requests) == 4  # two tries, each with one quick retry
    [note] = service.notifications(journey.account_id)
    assert (note.status, note.attempts) == ("failed", 2)
    assert note.last_error == "sms gateway answered 503"
