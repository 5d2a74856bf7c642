"""The application service's consumer against the real broker: every handler delivered twice,
late and reordered events, unknown applications, and the outlet read model after a cold
start in either order."""

from __future__ import annotations

import uuid

import pika
import pytest
from sqlalchemy import func, select

from services.application.handlers import HANDLERS
from services.application.models import Outlet, TimelineEntry
from services.application.worker import request_outlet_snapshot_if_empty
from shared.messaging.connection import connection_parameters
from shared.messaging.consumer import Outcome, bind_handlers
from shared.messaging.envelope import parse_event
from shared.messaging.events import EVENTS_EXCHANGE
from shared.messaging.publisher import ConfirmingPublisher
from shared.messaging.topology import SUBSCRIPTIONS, consumer_queue, declare_exchanges
from shared.testing.infrastructure import isolated_vhost
from shared.testing.running import running_consumer, running_relay
from shared.testing.waiting import EventWaiter, event_waiter, wait_until
from shared.time import format_time
from tests.application.factories import (
    add_outlet,
    at,
    card_event,
    outlet_data,
    outlet_event,
    publish,
    submitted_application,
    verification_event,
)
from tests.application.integration.conftest import running_service

APPLICATION_QUEUE = consumer_queue("application")
PRINTING_QUEUE = consumer_queue("printing")


@pytest.fixture(scope="module")
def vhost():
    with isolated_vhost("application") as url:
        yield url


@pytest.fixture(scope="module")
def service(tmp_path_factory, vhost, token_authority, accounts, registry):
    with running_service(
        tmp_path_factory.mktemp("application-events"), vhost, token_authority, accounts, registry
    ) as service:
        yield service


def consuming(service):
    """The worker's consumer, its handlers bound to the service's dependencies."""
    return running_consumer(
        service.settings, service.database, bind_handlers(HANDLERS, service.deps)
    )


@pytest.fixture(scope="module")
def consumer(service):
    with consuming(service) as runner:
        yield runner


@pytest.fixture(scope="module")
def publisher(service):
    publisher = ConfirmingPublisher(service.settings, role="test-peers").start()
    yield publisher
    publisher.close()


@pytest.fixture(scope="module")
def outlet(service) -> dict:
    return add_outlet(service.database)


def deliver(consumer, publisher, *events):
    """Publishes `events` (in this order) and returns once every copy is settled."""
    ids = {event.id for event in events}
    waiter = EventWaiter(lambda item: item.event is not None and item.event.id in ids, len(events))
    consumer.add_listener(waiter)
    try:
        publish(publisher, *events)
        return waiter.wait(20)
    finally:
        consumer.remove_listener(waiter)


def view(client, citizen, application_id) -> dict:
    return client.get(f"/api/v1/applications/{application_id}", headers=citizen.headers).get_json()


def timeline_rows(service, event_id: str) -> int:
    with service.database.session_factory() as session:
        return session.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.event_id == event_id)
        )


def test_handlers_cover_exactly_the_bound_event_types():
    assert set(HANDLERS) == {binding.routing_key for binding in SUBSCRIPTIONS["application"]}


PROGRESS_EVENTS = [
    ("verification.started", "verifying"),
    ("verification.review_required", "review_required"),
    ("verification.approved", "approved"),
    ("verification.rejected", "rejected"),
    ("card.print_requested", "print_requested"),
    ("card.printed", "printed"),
    ("card.print_failed", "print_failed"),
    ("card.shipped", "shipped"),
    ("card.ready_for_pickup", "ready_for_pickup"),
    ("card.collected", "collected"),
    ("card.activated", "activated"),
]


@pytest.mark.parametrize(("event_type", "status"), PROGRESS_EVENTS)
def test_each_progress_event_delivered_twice_takes_effect_once(
    service, consumer, publisher, people, outlet, event_type, status
):
    client = service.client()
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    make = verification_event if event_type.startswith("verification.") else card_event
    event = make(event_type, application, citizen.account_id, minute=5)

    settled = deliver(consumer, publisher, event, event)
    assert sorted(item.outcome.value for item in settled) == ["duplicate", "handled"]
    assert timeline_rows(service, event.id) == 1
    body = view(client, citizen, application["application_id"])
    assert body["status"] == status
    assert [entry["status"] for entry in body["timeline"]] == ["draft", "submitted", status]
    if event_type.startswith("card."):
        assert body["card"]["card_id"] == event.data["card_id"]
    if status == "rejected":
        assert body["rejection_reasons"] == event.data["reasons"]


def test_an_outlet_event_delivered_twice_takes_effect_once(service, consumer, publisher):
    data = outlet_data(bank_code="CCB")
    event = outlet_event(data)
    settled = deliver(consumer, publisher, event, event)
    assert sorted(item.outcome.value for item in settled) == ["duplicate", "handled"]
    items = service.client().get("/api/v1/outlets").get_json()["items"]
    assert [item["outlet_id"] for item in items].count(data["outlet_id"]) == 1


def test_an_older_outlet_state_arriving_late_is_ignored(service, consumer, publisher):
    data = outlet_data()
    renamed = {**data, "name": "新名字", "active": False}
    deliver(consumer, publisher, outlet_event(renamed, time=at(10)), outlet_event(data, time=at(5)))
    with service.database.session_factory() as session:
        stored = session.get(Outlet, data["outlet_id"])
    assert (stored.name, stored.active) == ("新名字", False)


def test_late_duplicated_and_reordered_events_leave_the_right_status_and_timeline(
    service, consumer, publisher, people, outlet
):
    client = service.client()
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    account = citizen.account_id
    approved = verification_event("verification.approved", application, account, minute=2)
    requested = card_event("card.print_requested", application, account, minute=3)
    printed = card_event("card.printed", application, account, minute=4)
    shipped = card_event("card.shipped", application, account, minute=5)

    deliver(consumer, publisher, shipped, requested)  # shipped overtook everything
    assert view(client, citizen, application["application_id"])["status"] == "shipped"

    deliver(consumer, publisher, printed, approved, shipped, printed)  # late, and twice
    body = view(client, citizen, application["application_id"])
    assert body["status"] == "shipped"
    assert [entry["status"] for entry in body["timeline"]] == [
        "draft",
        "submitted",
        "approved",
        "print_requested",
        "printed",
        "shipped",
    ]
    assert body["timeline"][-1]["at"] == format_time(at(5))
    assert body["card"]["card_serial"] == requested.data["card_serial"]


def test_verifying_shows_in_the_owners_view_and_the_progress_look_up_until_the_outcome(
    service, consumer, publisher, people, outlet
):
    client = service.client()
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    account = citizen.account_id
    lookup = {"acceptance_number": application["acceptance_number"], "name": citizen.name}
    started = verification_event("verification.started", application, account, minute=1)
    approved = verification_event("verification.approved", application, account, minute=2)

    deliver(consumer, publisher, started)
    body = view(client, citizen, application["application_id"])
    assert body["status"] == "verifying"
    assert body["timeline"][-1] == {
        "status": "verifying",
        "at": format_time(at(1)),
        "detail": "Your application is being checked.",
    }
    progress = client.get("/api/v1/progress", query_string=lookup).get_json()
    assert progress["status"] == "verifying"
    assert progress["updated_at"] == format_time(at(1))

    deliver(consumer, publisher, approved)
    body = view(client, citizen, application["application_id"])
    assert body["status"] == "approved"
    assert [entry["status"] for entry in body["timeline"]] == [
        "draft",
        "submitted",
        "verifying",
        "approved",
    ]
    assert client.get("/api/v1/progress", query_string=lookup).get_json()["status"] == "approved"


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("verification.review_required", "review_required"),
        ("verification.approved", "approved"),
        ("verification.rejected", "rejected"),
        ("card.print_requested", "print_requested"),
        ("card.shipped", "shipped"),
    ],
)
def test_a_late_verification_start_keeps_its_timeline_place_but_never_moves_the_status_back(
    service, consumer, publisher, people, outlet, event_type, status
):
    """Like every late fact, the start is history and goes into the timeline where it
    happened; the status stays with what it was overtaken by."""
    client = service.client()
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    make = verification_event if event_type.startswith("verification.") else card_event
    overtaking = make(event_type, application, citizen.account_id, minute=5)
    started = verification_event("verification.started", application, citizen.account_id, minute=1)

    deliver(consumer, publisher, overtaking)
    settled = deliver(consumer, publisher, started, started)
    assert sorted(item.outcome.value for item in settled) == ["duplicate", "handled"]
    assert timeline_rows(service, started.id) == 1
    body = view(client, citizen, application["application_id"])
    assert body["status"] == status
    assert [entry["status"] for entry in body["timeline"]] == [
        "draft",
        "submitted",
        "verifying",
        status,
    ]
    lookup = {"acceptance_number": application["acceptance_number"], "name": citizen.name}
    progress = client.get("/api/v1/progress", query_string=lookup).get_json()
    assert (progress["status"], progress["updated_at"]) == (status, format_time(at(5)))


def test_a_reprint_after_a_failure_with_events_out_of_order(
    service, consumer, publisher, people, outlet
):
    client = service.client()
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    account = citizen.account_id
    first = card_event("card.print_requested", application, account, minute=3)
    failed = card_event("card.print_failed", application, account, minute=4, reason="ribbon jam")
    reprint = card_event(
        "card.print_requested", application, account, minute=6, card_id=str(uuid.uuid4())
    )
    deliver(consumer, publisher, reprint, failed, first)
    body = view(client, citizen, application["application_id"])
    assert body["status"] == "print_requested"
    assert body["card"]["card_id"] == reprint.data["card_id"]
    assert [entry["status"] for entry in body["timeline"]][-3:] == [
        "print_requested",
        "print_failed",
        "print_requested",
    ]
    assert "ribbon jam" in body["timeline"][-2]["detail"]


def test_a_late_approval_after_a_rejection_does_not_revive_it(
    service, consumer, publisher, people, outlet
):
    client = service.client()
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    rejected = verification_event(
        "verification.rejected", application, citizen.account_id, minute=3
    )
    review = verification_event(
        "verification.review_required", application, citizen.account_id, minute=1
    )
    deliver(consumer, publisher, rejected, review)
    body = view(client, citizen, application["application_id"])
    assert body["status"] == "rejected"
    assert [entry["status"] for entry in body["timeline"]] == [
        "draft",
        "submitted",
        "review_required",
        "rejected",
    ]
    # Rejected closes the application: the citizen may apply again.
    again = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant()},
        headers=citizen.headers,
    )
    assert again.status_code == 201


def test_an_event_for_an_unknown_application_is_dead_lettered(consumer, publisher):
    stray = verification_event(
        "verification.approved",
        {"application_id": str(uuid.uuid4()), "outlet_id": str(uuid.uuid4())},
        str(uuid.uuid4()),
        minute=1,
    )
    [settled] = deliver(consumer, publisher, stray)
    assert settled.outcome is Outcome.DEAD_LETTER
    assert "unknown application" in settled.error


# -- cold start ---------------------------------------------------------------------------------


def queue_admin(settings):
    connection = pika.BlockingConnection(connection_parameters(settings, "test-admin"))
    return connection, connection.channel()


def printing_answers_snapshot_requests(settings, publisher, outlets: list[dict]) -> list:
    """Plays the printing service: waits for `outlet.snapshot_requested` on its queue and
    answers by publishing every outlet."""
    connection, channel = queue_admin(settings)
    try:

        def snapshot_request():
            method, _properties, body = channel.basic_get(PRINTING_QUEUE, auto_ack=True)
            return parse_event(body) if method else None

        request = wait_until(snapshot_request, timeout=20, what="a snapshot request")
    finally:
        connection.close()
    assert request.type == "outlet.snapshot_requested"
    assert request.data == {"requested_by": "application"}
    events = [outlet_event(data) for data in outlets]
    publish(publisher, *events)
    return events


def listed_outlets(service) -> set[str]:
    return {
        item["outlet_id"] for item in service.client().get("/api/v1/outlets").get_json()["items"]
    }


@pytest.fixture
def cold_service(tmp_path, vhost, token_authority, accounts, registry, consumer):
    """A second application service with an empty database, on a broker where its queue does
    not exist yet (the module's consumer is stopped for the length of the test)."""
    consumer.stop()
    wait_until(lambda: not consumer.ready.is_set(), what="the module's consumer to stop")
    with running_service(tmp_path, vhost, token_authority, accounts, registry) as service:
        connection, channel = queue_admin(service.settings)
        channel.queue_delete(APPLICATION_QUEUE)
        channel.queue_purge(PRINTING_QUEUE)
        connection.close()
        yield service


def test_cold_start_application_first_then_printing(cold_service, publisher):
    service = cold_service
    outlets = [outlet_data() for _ in range(3)]
    assert request_outlet_snapshot_if_empty(service.deps)
    with (
        running_relay(service.settings, service.database),
        consuming(service) as runner,
    ):
        # Printing starts later and publishes its outlets as it creates them ...
        with event_waiter(runner, event_type="outlet.upserted", count=3) as waiter:
            publish(publisher, *[outlet_event(data) for data in outlets])
            waiter.wait(20)
        assert listed_outlets(service) == {data["outlet_id"] for data in outlets}
        # ... and also answers the snapshot request, which changes nothing.
        with event_waiter(runner, event_type="outlet.upserted", count=3) as waiter:
            printing_answers_snapshot_requests(service.settings, publisher, outlets)
            waiter.wait(20)
    assert listed_outlets(service) == {data["outlet_id"] for data in outlets}


def test_cold_start_printing_first_queue_declared_by_its_publisher(cold_service, publisher):
    """Printing runs first: its process declared every consumer queue, so what it published
    before the application service ever started waits for it."""
    service = cold_service
    outlets = [outlet_data() for _ in range(3)]
    printing = ConfirmingPublisher(service.settings, role="printing-relay").start()
    try:
        publish(printing, *[outlet_event(data) for data in outlets])
    finally:
        printing.close()
    expected = {data["outlet_id"] for data in outlets}
    with consuming(service):
        wait_until(lambda: listed_outlets(service) == expected, timeout=20, what="every outlet")


def test_cold_start_printing_first_with_its_events_lost_asks_for_a_snapshot(
    cold_service, publisher
):
    """Printing published before any queue existed (a new broker, say): those events are gone.
    The application worker finds no outlets, asks for a snapshot, and gets every outlet."""
    service = cold_service
    outlets = [outlet_data() for _ in range(3)]
    connection, channel = queue_admin(service.settings)
    declare_exchanges(channel)
    for data in outlets:  # into the void: nothing is bound to receive them yet
        event = outlet_event(data)
        channel.basic_publish(EVENTS_EXCHANGE, event.type, event.to_json())
    connection.close()

    assert request_outlet_snapshot_if_empty(service.deps)
    with (
        running_relay(service.settings, service.database),
        consuming(service) as runner,
        event_waiter(runner, event_type="outlet.upserted", count=3) as waiter,
    ):
        printing_answers_snapshot_requests(service.settings, publisher, outlets)
        waiter.wait(20)
    assert listed_outlets(service) == {data["outlet_id"] for data in outlets}
    # With outlets known, a restarted worker does not ask again.
    assert not request_outlet_snapshot_if_empty(service.deps)
