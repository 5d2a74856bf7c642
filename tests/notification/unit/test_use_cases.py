"""The notification service's use cases on an in-memory database with fake providers: what a
command or an event leaves in the tables, with no broker, no server and no receiver."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.notification.dao.contacts import dao_get_bindings
from services.notification.domain.delivery import NO_ADDRESS, WebhookAttemptReport
from services.notification.domain.statuses import (
    BindingSource,
    DeliveryStatus,
    NotificationStatus,
    SubscriptionStatus,
)
from services.notification.domain.webhooks import SECRET_COLUMN, new_secret, public_payload
from services.notification.models import Notification, WebhookDelivery, WebhookSubscription
from services.notification.use_cases import contacts, dispatch, notices, subscriptions
from services.notification.use_cases.subscriptions import Caller
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput, NotFound
from tests.notification.factories import FakeClock, Journey, memory_deps

RNG = random.Random(11)


@pytest.fixture
def deps():
    deps = memory_deps()
    yield deps
    deps.database.dispose()


def run(deps, use_case, **kwargs):
    """As an edge does: one unit of work, committed when the use case returns."""
    with UnitOfWork(deps.database, "notification") as uow:
        result = use_case(uow, deps, **kwargs)
        uow.commit()
    return result


def rows(deps, model):
    with deps.database.session_factory() as session:
        return list(session.scalars(select(model)))


def subscribe(deps, owner="integrator-1", patterns=("card.*",)) -> WebhookSubscription:
    created = run(
        deps,
        subscriptions.create_subscription,
        caller=Caller(owner, bank_code="ICBC"),
        url="http://127.0.0.1:9/hooks",
        event_types=list(patterns),
        secret=None,
    )
    return created.subscription


def queue_card_event(deps, journey: Journey, status: str = "shipped"):
    return queue_event(deps, journey.card(status))


def queue_event(deps, event):
    """As the handlers pass an event on to subscribers."""
    data = event.data
    run(
        deps,
        subscriptions.queue_webhook_deliveries,
        event_id=event.id,
        event_type=event.type,
        payload=public_payload(event).decode(),
        account_id=data.get("account_id"),
        bank_code=data.get("bank_code"),
        application_id=data.get("application_id"),
    )
    return event


# -- channels --------------------------------------------------------------------------------
def test_a_registration_phone_never_replaces_the_citizens_own_sms_binding(deps):
    run(
        deps,
        contacts.bind_channel,
        account_id="a1",
        channel="sms",
        address="139 0000 1111",
        locale="en",
    )
    run(deps, contacts.record_registration, account_id="a1", phone="+86 138 1234 5678")
    with deps.database.session_factory() as session:
        (binding,) = dao_get_bindings(session, "a1")
    assert (binding.address, binding.source, binding.locale) == (
        "13900001111",
        BindingSource.CITIZEN,
        "en",
    )


def test_a_new_binding_speaks_the_language_chosen_for_the_other_channels(deps):
    run(deps, contacts.record_registration, account_id="a1", phone="13812345678")
    run(
        deps,
        contacts.bind_channel,
        account_id="a1",
        channel="email",
        address="lina@Example.com",
        locale="en",
    )
    run(
        deps,
        contacts.bind_channel,
        account_id="a1",
        channel="wechat",
        address="o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        locale=None,
    )
    with deps.database.session_factory() as session:
        bindings = {b.channel: b for b in dao_get_bindings(session, "a1")}
    assert bindings["email"].address == "lina@example.com"
    assert bindings["wechat"].locale == "en"
    assert bindings["sms"].source == BindingSource.ACCOUNT


def test_unknown_channels_and_missing_bindings_are_not_found(deps):
    with pytest.raises(NotFound):
        run(deps, contacts.bind_channel, account_id="a1", channel="fax", address="1", locale=None)
    with pytest.raises(NotFound):
        run(deps, contacts.unbind_channel, account_id="a1", channel="email")


# -- notices ---------------------------------------------------------------------------------
def test_a_citizen_is_queued_one_message_per_bound_channel_and_once_only(deps):
    journey = Journey()
    run(deps, contacts.record_registration, account_id=journey.account_id, phone=journey.phone)
    run(
        deps,
        contacts.bind_channel,
        account_id=journey.account_id,
        channel="email",
        address="lina@example.com",
        locale="en",
    )
    event = journey.card("ready_for_pickup")
    for _ in range(2):  # a redelivery adds nothing
        run(
            deps,
            notices.notify_citizen,
            event_id=event.id,
            event_type=event.type,
            account_id=journey.account_id,
        )
    queued = rows(deps, Notification)
    assert sorted(n.channel for n in queued) == ["email", "sms"]
    assert {n.status for n in queued} == {NotificationStatus.QUEUED}
    assert {n.locale for n in queued if n.channel == "email"} == {"en"}


# -- subscriptions ---------------------------------------------------------------------------
def test_a_subscription_keeps_its_secret_encrypted_and_refuses_bad_patterns(deps):
    created = run(
        deps,
        subscriptions.create_subscription,
        caller=Caller("i1", bank_code="ICBC"),
        url="http://127.0.0.1:9/hooks",
        event_types=["card.*"],
        secret=None,
    )
    stored = rows(deps, WebhookSubscription)[0]
    assert stored.secret_encrypted != created.secret
    assert deps.cipher.decrypt(stored.secret_encrypted, column=SECRET_COLUMN) == created.secret
    assert stored.status == SubscriptionStatus.ACTIVE
    with pytest.raises(InvalidInput):
        run(
            deps,
            subscriptions.create_subscription,
            caller=Caller("i1", bank_code="ICBC"),
            url="http://127.0.0.1:9/hooks",
            event_types=["nothing.*"],
            secret=new_secret(),
        )


def test_a_private_address_is_refused_where_the_deployment_does_not_allow_it(deps):
    strict = replace(deps, options=replace(deps.options, allow_private_destinations=False))
    with pytest.raises(InvalidInput):
        run(
            strict,
            subscriptions.create_subscription,
            caller=Caller("i1", bank_code="ICBC"),
            url="http://127.0.0.1:9/hooks",
            event_types=["card.*"],
            secret=None,
        )


def test_deliveries_are_queued_only_for_active_subscriptions_that_asked(deps):
    cards = subscribe(deps, "i1", ["card.*"])
    subscribe(deps, "i2", ["verification.*"])
    queue_card_event(deps, Journey())
    (delivery,) = rows(deps, WebhookDelivery)
    assert delivery.subscription_id == cards.subscription_id
    assert delivery.status == DeliveryStatus.PENDING


def test_only_the_owner_or_an_admin_sees_and_deletes_a_subscription(deps):
    subscription = subscribe(deps, "i1")
    queue_card_event(deps, Journey())
    sid = subscription.subscription_id
    with pytest.raises(NotFound):
        run(deps, subscriptions.delete_subscription, caller=Caller("i2"), subscription_id=sid)
    with pytest.raises(NotFound):
        run(
            deps,
            subscriptions.delete_subscription,
            caller=Caller("i1"),
            subscription_id=str(uuid.uuid4()),
        )
    run(
        deps,
        subscriptions.delete_subscription,
        caller=Caller("admin", is_admin=True),
        subscription_id=sid,
    )
    assert rows(deps, WebhookSubscription)[0].status == SubscriptionStatus.DELETED
    assert rows(deps, WebhookDelivery)[0].status == DeliveryStatus.CANCELLED
    with deps.database.session_factory() as session:
        assert subscriptions.list_subscriptions(session, caller=Caller("i1")) == []


# -- dispatch --------------------------------------------------------------------------------
def claim_webhooks(deps, clock):
    return run(deps, dispatch.claim_due_deliveries, now=clock(), limit=100, in_flight={})


def attempt(claimed, clock, status_code):
    return WebhookAttemptReport(
        delivery_id=claimed.delivery_id,
        subscription_id=claimed.subscription_id,
        event_id=claimed.event_id,
        number=claimed.attempt_number,
        attempted_at=clock(),
        duration_ms=5,
        status_code=status_code,
        error=None if status_code == 204 else f"HTTP {status_code}",
    )


def test_a_claimed_delivery_is_leased_and_a_failure_schedules_the_next_try(deps):
    subscribe(deps)
    queue_card_event(deps, Journey())
    clock = FakeClock()
    (claimed,) = claim_webhooks(deps, clock)
    assert claim_webhooks(deps, clock) == []  # leased to this dispatcher
    run(
        deps,
        dispatch.record_webhook_attempts,
        reports=[attempt(claimed, clock, 500)],
        now=clock(),
        rng=RNG,
    )
    (delivery,) = rows(deps, WebhookDelivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempt_count == 1
    assert delivery.last_status_code == 500
    assert clock() + timedelta(seconds=7) <= delivery.next_attempt_at
    assert rows(deps, WebhookSubscription)[0].failing_since == clock()


def test_a_subscription_failing_a_whole_day_is_disabled_and_its_owner_told(deps):
    run(
        deps,
        contacts.bind_channel,
        account_id="i1",
        channel="email",
        address="ops@example.com",
        locale="en",
    )
    subscribe(deps, "i1")
    journey = Journey()
    queue_card_event(deps, journey, "shipped")
    clock = FakeClock()
    (first,) = claim_webhooks(deps, clock)
    run(
        deps,
        dispatch.record_webhook_attempts,
        reports=[attempt(first, clock, 500)],
        now=clock(),
        rng=RNG,
    )
    queue_card_event(deps, journey, "ready_for_pickup")
    clock.advance(timedelta(hours=24))
    claimed = claim_webhooks(deps, clock)
    disabled = run(
        deps,
        dispatch.record_webhook_attempts,
        reports=[attempt(c, clock, 503) for c in claimed],
        now=clock(),
        rng=RNG,
    )
    (subscription,) = rows(deps, WebhookSubscription)
    assert disabled == [subscription.subscription_id]
    assert subscription.status == SubscriptionStatus.DISABLED
    assert "every delivery failed for 24 hours" in subscription.disabled_reason
    # The first delivery's day is over: given up. The second's is not: cancelled with it.
    statuses = sorted(d.status for d in rows(deps, WebhookDelivery))
    assert statuses == [DeliveryStatus.CANCELLED, DeliveryStatus.FAILED]
    told = {n.channel: n.status for n in rows(deps, Notification)}
    assert told == {"inbox": NotificationStatus.SENT, "email": NotificationStatus.QUEUED}


def test_a_notification_waits_for_its_address_and_is_sent_once_it_has_one(deps):
    journey = Journey()
    event = journey.card("shipped")
    run(
        deps,
        notices.notify_citizen,
        event_id=event.id,
        event_type=event.type,
        account_id=journey.account_id,
    )
    clock = FakeClock()
    claim = dict(limit=10, in_flight={}, rng=RNG)
    assert run(deps, dispatch.claim_due_notifications, now=clock(), **claim) == []
    (waiting,) = rows(deps, Notification)
    assert (waiting.attempts, waiting.last_error) == (1, NO_ADDRESS)
    assert waiting.status == NotificationStatus.QUEUED and waiting.next_attempt_at > clock()

    run(deps, contacts.record_registration, account_id=journey.account_id, phone=journey.phone)
    clock.advance(timedelta(hours=1))
    (send,) = run(deps, dispatch.claim_due_notifications, now=clock(), **claim)
    assert (send.message.address, send.attempt_number) == (journey.phone, 2)
    report = dispatch.NotificationReport(send.message.notification_id, send.attempt_number, None)
    run(deps, dispatch.record_notification_sends, reports=[report], now=clock(), rng=RNG)
    (sent,) = rows(deps, Notification)
    assert sent.status == NotificationStatus.SENT and sent.sent_at == clock()


def test_a_permanent_provider_failure_fails_the_notification_at_once(deps):
    journey = Journey()
    run(deps, contacts.record_registration, account_id=journey.account_id, phone=journey.phone)
    event = journey.card("shipped")
    run(
        deps,
        notices.notify_citizen,
        event_id=event.id,
        event_type=event.type,
        account_id=journey.account_id,
    )
    clock = FakeClock()
    (send,) = run(
        deps, dispatch.claim_due_notifications, now=clock(), limit=10, in_flight={}, rng=RNG
    )
    report = dispatch.NotificationReport(
        send.message.notification_id, send.attempt_number, "sms gateway answered 400", True
    )
    run(deps, dispatch.record_notification_sends, reports=[report], now=clock(), rng=RNG)
    (failed,) = rows(deps, Notification)
    assert failed.status == NotificationStatus.FAILED and failed.next_attempt_at is None
