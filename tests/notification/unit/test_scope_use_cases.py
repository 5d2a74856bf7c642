"""Scopes in the use cases, on an in-memory database: deliveries are queued only within a
subscription's scope, each with the subscription's own `holder_ref`, and an admin's grant
decides an integrator's scope (changing it disables what was made under the old one)."""

from __future__ import annotations

import pytest

from services.notification.domain.payloads import holder_ref
from services.notification.domain.scopes import bank_scope, channel_scope
from services.notification.domain.statuses import DeliveryStatus, SubscriptionStatus
from services.notification.models import WebhookDelivery, WebhookSubscription
from services.notification.use_cases import contacts, read_models, scopes, subscriptions
from services.notification.use_cases.subscriptions import Caller
from shared.errors import Forbidden, NotFound
from shared.time import utcnow
from tests.notification.factories import Journey, memory_deps
from tests.notification.unit.test_use_cases import queue_event, rows, run


@pytest.fixture
def deps():
    deps = memory_deps()
    yield deps
    deps.database.dispose()


def subscribe(deps, caller: Caller, patterns=("*",), scope=None) -> WebhookSubscription:
    return run(
        deps,
        subscriptions.create_subscription,
        caller=caller,
        url="http://127.0.0.1:9/hooks",
        event_types=list(patterns),
        secret=None,
        scope=scope,
    ).subscription


def delivered_to(deps, subscription: WebhookSubscription) -> list[str]:
    return sorted(
        d.event_type
        for d in rows(deps, WebhookDelivery)
        if d.subscription_id == subscription.subscription_id
    )


def grant(deps, account_id: str, scope) -> None:
    run(
        deps,
        scopes.grant_scope,
        account_id=account_id,
        scope=scope,
        granted_by="admin",
        now=utcnow(),
    )


def bind(deps, account_id: str, channel: str, address: str) -> None:
    run(
        deps,
        contacts.bind_channel,
        account_id=account_id,
        channel=channel,
        address=address,
        locale=None,
    )


def submitted(deps, journey: Journey) -> None:
    run(deps, read_models.save_application, application=journey.application_submitted().data)


def test_a_bank_integrator_gets_its_banks_events_only(deps):
    icbc = subscribe(deps, Caller("icbc-integrator", bank_code="ICBC"))
    ccb = subscribe(deps, Caller("ccb-integrator", bank_code="CCB"))
    ours, theirs = Journey(bank_code="ICBC"), Journey(bank_code="CCB")
    for journey in (ours, theirs):
        submitted(deps, journey)
        for event in (
            journey.outlet_upserted(),
            journey.verification("approved", decided_by="reviewer-1"),
            journey.card("printed"),
        ):
            queue_event(deps, event)
    expected = ["card.printed", "outlet.upserted", "verification.approved"]
    assert delivered_to(deps, icbc) == expected
    assert delivered_to(deps, ccb) == expected
    by_subscription = {d.event_id: d.subscription_id for d in rows(deps, WebhookDelivery)}
    assert len(by_subscription) == 6  # no event went to both


def test_an_application_whose_bank_is_not_known_reaches_no_bank(deps):
    icbc = subscribe(deps, Caller("icbc-integrator", bank_code="ICBC"))
    queue_event(deps, Journey().verification("started"))  # its submission never arrived
    assert delivered_to(deps, icbc) == []


def test_a_channel_integrator_gets_only_people_who_bound_its_channel(deps):
    grant(deps, "wx", channel_scope("wechat"))
    wechat = subscribe(deps, Caller("wx"))
    bound, unbound, elsewhere = Journey(), Journey(), Journey()
    bind(deps, bound.account_id, "wechat", "oWx" + "a" * 25)
    bind(deps, elsewhere.account_id, "alipay", "2088" + "1" * 12)
    for journey in (bound, unbound, elsewhere):
        submitted(deps, journey)
        queue_event(deps, journey.verification("approved"))
        queue_event(deps, journey.card("ready_for_pickup"))
    queue_event(deps, bound.outlet_upserted())
    ids = {d.event_id for d in rows(deps, WebhookDelivery)}
    assert delivered_to(deps, wechat) == [
        "card.ready_for_pickup",
        "outlet.upserted",
        "verification.approved",
    ]
    assert len(ids) == 3
    # Unbinding stops what follows.
    run(deps, contacts.unbind_channel, account_id=bound.account_id, channel="wechat")
    queue_event(deps, bound.card("collected"))
    assert "card.collected" not in delivered_to(deps, wechat)


def test_each_subscription_gets_its_own_stable_holder_ref(deps):
    first = subscribe(deps, Caller("i1", bank_code="ICBC"))
    second = subscribe(deps, Caller("i2", bank_code="ICBC"))
    journey = Journey()
    queue_event(deps, journey.card("printed"))
    queue_event(deps, journey.card("shipped"))
    queue_event(deps, journey.outlet_upserted())
    refs = {(d.subscription_id, d.event_type): d.holder_ref for d in rows(deps, WebhookDelivery)}
    for subscription in (first, second):
        sid = subscription.subscription_id
        assert (
            refs[sid, "card.printed"]
            == refs[sid, "card.shipped"]
            == holder_ref(subscription.pseudonym_salt, journey.account_id)
        )
        assert refs[sid, "outlet.upserted"] is None
    assert (
        refs[first.subscription_id, "card.printed"] != refs[second.subscription_id, "card.printed"]
    )


def test_an_integrator_without_a_scope_cannot_subscribe_until_an_admin_grants_one(deps):
    with pytest.raises(Forbidden):
        subscribe(deps, Caller("i1"))
    with pytest.raises(Forbidden):
        subscribe(deps, Caller("i1"), scope=bank_scope("ICBC"))  # not theirs to choose
    grant(deps, "i1", bank_scope("ccb"))
    made = subscribe(deps, Caller("i1"))
    assert (made.scope_kind, made.scope_value) == ("bank", "CCB")
    admin = subscribe(deps, Caller("root", is_admin=True), scope=channel_scope("alipay"))
    assert (admin.scope_kind, admin.scope_value) == ("channel", "alipay")


def test_changing_or_revoking_a_grant_disables_what_was_made_under_the_old_one(deps):
    grant(deps, "i1", bank_scope("CCB"))
    old = subscribe(deps, Caller("i1"))
    queue_event(deps, Journey(bank_code="CCB").card("printed"))
    # The same grant again changes nothing.
    grant(deps, "i1", bank_scope("CCB"))
    assert rows(deps, WebhookSubscription)[0].status == SubscriptionStatus.ACTIVE
    grant(deps, "i1", bank_scope("ICBC"))
    [stored] = rows(deps, WebhookSubscription)
    assert stored.status == SubscriptionStatus.DISABLED
    assert "scope" in stored.disabled_reason
    assert [d.status for d in rows(deps, WebhookDelivery)] == [DeliveryStatus.CANCELLED]
    new = subscribe(deps, Caller("i1"))
    assert new.scope_value == "ICBC" and old.subscription_id != new.subscription_id
    run(deps, scopes.revoke_scope, account_id="i1", now=utcnow())
    assert {s.status for s in rows(deps, WebhookSubscription)} == {SubscriptionStatus.DISABLED}
    with pytest.raises(NotFound):
        run(deps, scopes.revoke_scope, account_id="i1", now=utcnow())
    with pytest.raises(Forbidden):
        subscribe(deps, Caller("i1"))
