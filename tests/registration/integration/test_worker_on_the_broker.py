"""The registration worker behind the real consumer runner and outbox relay on a real RabbitMQ
vhost: an approved application binds its ID number to its account and locks the account that
squatted that number, whose `account.locked` reaches the broker once, however often the
approval is delivered; the locked account then cannot log in and is on the revocation list."""

from __future__ import annotations

import json
import uuid

import pika
import pytest

from services.registration import deps as registration_deps
from services.registration.app import create_app
from services.registration.dao import dao_insert_account
from services.registration.domain.account_states import IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT
from services.registration.domain.accounts import NewAccount
from services.registration.handlers import HANDLERS
from services.registration.models import Account
from shared.auth.revocations import REVOCATIONS_PATH
from shared.db.uow import UnitOfWork
from shared.messaging.connection import connection_parameters
from shared.messaging.consumer import bind_handlers
from shared.messaging.envelope import new_event
from shared.messaging.publisher import OutgoingMessage
from shared.messaging.topology import declare_topology
from shared.testing.running import running_consumer, running_relay
from shared.testing.waiting import event_waiter, wait_until
from tests.registration.factories import (
    FAST_HASHING,
    PASSWORD,
    assert_problem,
    log_in,
    next_id_number,
    next_phone,
)

WATCH_QUEUE = "test.account-locked"


@pytest.fixture
def on_broker(settings_factory, fresh_broker_url):
    settings = settings_factory("registration", amqp_url=fresh_broker_url, **FAST_HASHING)
    dependencies = registration_deps.build(settings, pool_size=2)
    yield settings, dependencies
    dependencies.database.dispose()


def citizen_with(dependencies, id_number: str) -> tuple[str, str]:
    phone = next_phone()
    account = NewAccount(
        account_id=str(uuid.uuid4()),
        phone=phone,
        name="张三",
        role="citizen",
        password_hash=dependencies.passwords.hash(PASSWORD),
        id_number=id_number,
    )
    with UnitOfWork(dependencies.database, "registration") as uow:
        dao_insert_account(uow.session, account, dependencies.cipher)
        uow.commit()
    return account.account_id, phone


def approved(account_id: str):
    return new_event(
        "verification.approved",
        {
            "application_id": str(uuid.uuid4()),
            "account_id": account_id,
            "case_id": str(uuid.uuid4()),
            "decided_by": None,
        },
        source="verification",
        subject=account_id,
    )


def on_the_broker(settings):
    connection = pika.BlockingConnection(connection_parameters(settings, "test-producer"))
    channel = connection.channel()
    declare_topology(channel, settings)
    channel.queue_declare(WATCH_QUEUE, durable=False, auto_delete=False)
    channel.queue_bind(WATCH_QUEUE, "sscard.events", routing_key="account.locked")
    channel.confirm_delivery()
    return connection, channel


def publish(channel, *events) -> None:
    for event in events:
        message = OutgoingMessage("sscard.events", event.type, event.to_json(), event.id)
        channel.basic_publish(
            "sscard.events", event.type, event.to_json(), message.properties("test")
        )


def locked_messages(channel) -> list[dict]:
    bodies = []
    while True:
        method, _properties, body = channel.basic_get(WATCH_QUEUE, auto_ack=True)
        if method is None:
            return bodies
        bodies.append(json.loads(body))


def test_an_approval_locks_the_squatter_once_however_often_it_is_delivered(on_broker):
    settings, dependencies = on_broker
    id_number = next_id_number()
    squatter, squatter_phone = citizen_with(dependencies, id_number)
    real, real_phone = citizen_with(dependencies, id_number)
    first = approved(real)
    again = approved(real)  # the same approval published once more, under another id
    connection, channel = on_the_broker(settings)
    try:
        handlers = bind_handlers(HANDLERS, dependencies)
        with (
            running_consumer(settings, dependencies.database, handlers) as runner,
            running_relay(settings, dependencies.database),
            event_waiter(runner, event_type="verification.approved", count=3) as waiter,
        ):
            publish(channel, first, first, again)
            outcomes = sorted(item.outcome.value for item in waiter.wait(60))
            wait_until(
                lambda: channel.queue_declare(WATCH_QUEUE, passive=True).method.message_count,
                timeout=30,
                what="account.locked on the broker",
            )
        messages = locked_messages(channel)
    finally:
        connection.close()

    assert outcomes == ["duplicate", "handled", "handled"]
    (message,) = messages
    assert (message["type"], message["subject"]) == ("account.locked", squatter)
    assert message["data"] == {"account_id": squatter, "reason": IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT}
    with dependencies.database.session_factory() as session:
        assert session.get(Account, real).identity_proven_at is not None
        assert session.get(Account, real).locked_at is None
        assert session.get(Account, squatter).lock_reason == IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT

    app = create_app(settings)
    try:
        client = app.test_client()
        refused = assert_problem(log_in(client, squatter_phone), 403)
        assert (refused["code"], refused["reason"]) == (
            "account_locked",
            IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT,
        )
        assert log_in(client, real_phone).status_code == 200
        service = {
            "Authorization": "Bearer "
            + dependencies.tokens.for_service("application")["access_token"]
        }
        listed = client.get(REVOCATIONS_PATH, headers=service).get_json()["items"]
        assert [item["account_id"] for item in listed] == [squatter]
    finally:
        app.extensions["sscard"].database.dispose()
