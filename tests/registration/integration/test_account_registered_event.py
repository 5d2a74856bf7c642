"""`account.registered` is written to the outbox with the account, once per account, even when
the request is retried with the same Idempotency-Key; and that is what reaches the broker."""

from __future__ import annotations

import json

import pika
import pytest

from services.registration.app import create_app
from shared.messaging.events import EVENTS_EXCHANGE
from shared.messaging.topology import declare_exchanges
from shared.testing.running import running_relay
from shared.testing.waiting import wait_until
from tests.registration.factories import (
    FAST_HASHING,
    assert_problem,
    outbox_rows,
    outside_environ,
    ready_citizen,
    with_outside,
)


def test_a_retry_with_the_same_idempotency_key_publishes_nothing_more(client, app):
    events_before = len(outbox_rows(app))
    body = ready_citizen(client)
    key = {"Idempotency-Key": "register-once"}
    first = client.post("/api/v1/accounts", json=body, headers=key)
    retried = client.post("/api/v1/accounts", json=body, headers=key)
    assert first.status_code == retried.status_code == 201
    assert retried.get_json() == first.get_json()
    assert retried.headers["Idempotent-Replayed"] == "true"
    # Without the key it is a new request, and the code is used up.
    assert assert_problem(client.post("/api/v1/accounts", json=body), 422)["code"] == "code_invalid"

    account_id = first.get_json()["account_id"]
    (row,) = outbox_rows(app, subject=account_id)
    event = json.loads(row.body)
    assert event["type"] == "account.registered"
    assert event["data"] == {
        "account_id": account_id,
        "phone": body["phone"],
        "name": body["name"],
    }
    assert len(outbox_rows(app)) == events_before + 1


def test_each_account_publishes_its_own_event(client, app):
    events_before = len(outbox_rows(app))
    ids = [
        client.post("/api/v1/accounts", json=ready_citizen(client)).get_json()["account_id"]
        for _ in range(3)
    ]
    published = [json.loads(row.body)["data"]["account_id"] for row in outbox_rows(app)]
    assert published[events_before:] == ids


@pytest.fixture
def broker_app(settings_factory, fresh_broker_url, outside):
    settings = settings_factory(
        "registration", amqp_url=fresh_broker_url, **FAST_HASHING, **outside_environ(outside)
    )
    app = with_outside(create_app(settings), outside)
    yield app, settings
    app.extensions["sscard"].database.dispose()


@pytest.fixture
def account_registered_queue(broker_app):
    """A queue of our own, bound the way the notification service's is."""
    _, settings = broker_app
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    channel = connection.channel()
    declare_exchanges(channel)
    queue = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue, EVENTS_EXCHANGE, routing_key="account.registered")
    yield channel, queue
    connection.close()


def test_exactly_one_event_reaches_the_broker_for_a_retried_registration(
    broker_app, account_registered_queue
):
    app, settings = broker_app
    channel, queue = account_registered_queue
    client = app.test_client()
    body = ready_citizen(client)
    key = {"Idempotency-Key": "register-once"}
    account_id = client.post("/api/v1/accounts", json=body, headers=key).get_json()["account_id"]
    assert client.post("/api/v1/accounts", json=body, headers=key).status_code == 201
    assert client.post("/api/v1/accounts", json=body).status_code == 422  # code used up

    database = app.extensions["sscard"].database
    with running_relay(settings, database):
        wait_until(
            lambda: all(row.published_at for row in outbox_rows(app)),
            what="the outbox to be relayed",
        )
    # Everything the outbox held is confirmed by the broker, so the queue holds all it will.
    messages = []
    while (delivery := channel.basic_get(queue, auto_ack=True))[0] is not None:
        messages.append(delivery)
    assert len(messages) == 1
    method, properties, payload = messages[0]
    event = json.loads(payload)
    assert method.routing_key == "account.registered"
    assert properties.message_id == event["id"]
    assert event["type"] == "account.registered"
    assert event["source"] == "/sscard/registration"
    assert event["data"]["account_id"] == account_id
    assert "id_number" not in event["data"]
