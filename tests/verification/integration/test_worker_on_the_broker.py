"""The verification worker's handlers behind the real consumer runner and outbox relay on a real
RabbitMQ vhost: a submission opens a case whose `verification.started` comes back through the
broker to be checked; duplicates are absorbed by the inbox, and a registry outage rides the
retry tiers into review."""

from __future__ import annotations

import pika
import pytest

from shared.messaging.connection import connection_parameters
from shared.messaging.consumer import Outcome
from shared.messaging.envelope import Event
from shared.messaging.publisher import OutgoingMessage
from shared.messaging.topology import declare_topology
from shared.testing.running import running_consumer, running_relay
from shared.testing.waiting import event_waiter
from tests.verification.integration.conftest import verification_service


def publish(settings, *events: Event) -> None:
    connection = pika.BlockingConnection(connection_parameters(settings, "test-producer"))
    try:
        channel = connection.channel()
        declare_topology(channel, settings)
        channel.confirm_delivery()
        for event in events:
            message = OutgoingMessage("sscard.events", event.type, event.to_json(), event.id)
            channel.basic_publish(
                "sscard.events", event.type, event.to_json(), message.properties("test")
            )
    finally:
        connection.close()


@pytest.fixture
def on_broker(settings_factory, fresh_broker_url, registry, file_server, analyser, analysis_memo):
    settings = settings_factory(
        "verification",
        amqp_url=fresh_broker_url,
        IDENTITY_REGISTRY_URL=registry.url,
        APPLICATION_URL=file_server.url,
        VERIFICATION_REGISTRY_RETRIES="0",
    )
    with verification_service(settings, registry, file_server, analyser, analysis_memo) as service:
        yield service


def test_the_same_submission_delivered_twice_makes_one_case_and_one_outcome(on_broker):
    event = on_broker.submitted(on_broker.applicant())

    with (
        running_consumer(on_broker.settings, on_broker.database, on_broker.handlers) as runner,
        running_relay(on_broker.settings, on_broker.database),
        event_waiter(runner, event_id=event.id, count=2) as submissions,
        event_waiter(runner, event_type="verification.started") as checks,
    ):
        publish(on_broker.settings, event, event)
        outcomes = sorted(item.outcome.value for item in submissions.wait(60))
        [checked] = checks.wait(60)

    assert outcomes == ["duplicate", "handled"]
    assert checked.outcome is Outcome.HANDLED
    application_id = event.data["application_id"]
    assert on_broker.case(application_id).status == "approved"
    assert [e["type"] for e in on_broker.outcome_events(application_id)] == [
        "verification.approved"
    ]


def test_a_registry_outage_rides_the_retry_tiers_into_review(on_broker):
    event = on_broker.submitted(on_broker.applicant())
    on_broker.registry.faults(503)
    tiers = len(on_broker.settings.retry_delays_ms)

    with (
        running_consumer(on_broker.settings, on_broker.database, on_broker.handlers) as runner,
        running_relay(on_broker.settings, on_broker.database),
        event_waiter(runner, event_type="verification.started", count=tiers + 1) as waiter,
    ):
        publish(on_broker.settings, event)
        settled = waiter.wait(60)

    assert [item.outcome for item in settled] == [Outcome.RETRY] * tiers + [Outcome.HANDLED]
    application_id = event.data["application_id"]
    assert on_broker.case(application_id).status == "pending"
    row = on_broker.checks(application_id)["identity_registry_match"]
    assert (row.outcome, row.codes) == ("review", ["registry_unavailable"])
    assert [e["type"] for e in on_broker.outcome_events(application_id)] == [
        "verification.review_required"
    ]
