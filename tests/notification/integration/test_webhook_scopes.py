"""Must-show of issue 17: integrators see only what they are entitled to. Events travel the
real path — published on the broker, consumed by the service's handlers into its database,
sent by the dispatcher to local receivers — and what each receiver gets is checked.

- A bank integrator never receives another bank's card (or outlet, or application) events,
  and does receive its own.
- A channel integrator never receives events of a citizen who did not bind that channel.
- No payload carries an account id, a reviewer id or a check's measurements.
"""

from __future__ import annotations

import json
import threading

import pytest

from shared.auth import INTEGRATOR
from shared.testing.receivers import Receiver
from shared.testing.running import running_consumer
from shared.testing.waiting import event_waiter
from tests.notification.factories import Journey, bank_integrator
from tests.notification.integration.conftest import make_service, publish

REVIEWER = "reviewer-3c9d"
DISTANCE = "face distance 0.6132"


@pytest.fixture
def consuming_service(settings_factory, fresh_broker_url):
    under_test = make_service(settings_factory, amqp_url=fresh_broker_url)
    yield under_test
    for dispatcher in under_test.dispatchers:
        dispatcher.close()
    under_test.database.dispose()


def _journey_events(journey: Journey) -> list:
    """A whole application's story, including what integrators must not see of it."""
    checks = [{"check": "id_card_face_match", "outcome": "review", "detail": DISTANCE}]
    reasons = [{"code": "id_card_face_match", "detail": DISTANCE}]
    return [
        journey.account_registered(),
        journey.outlet_upserted(),
        journey.application_submitted(),
        journey.verification("started"),
        journey.verification("review_required", checks=checks),
        journey.verification("approved", decided_by=REVIEWER),
        journey.card("print_requested"),
        journey.card("printed"),
        journey.card("ready_for_pickup"),
        journey.verification("rejected", reasons=reasons, decided_by=REVIEWER),
    ]


# What a subscriber to "*" receives of one journey: every public event above.
PUBLIC_PER_JOURNEY = 8


def _deliver(service, events: list, receivers: list[Receiver], expected: list[int]) -> None:
    """Publishes `events` on the broker (each twice, as a redelivery would), lets the
    service's consumer handle them and its dispatcher send, until each receiver has its
    expected number of requests — and then a little longer, so an extra one would show."""
    dispatcher = service.dispatcher()
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        with (
            running_consumer(service.settings, service.database, service.handlers) as runner,
            event_waiter(runner, count=len(events) * 2) as waiter,
        ):
            publish(service.settings, events, copies=2)
            waiter.wait(30)
        for receiver, count in zip(receivers, expected, strict=True):
            receiver.wait_for(count)
        for receiver, count in zip(receivers, expected, strict=True):
            with pytest.raises(AssertionError):
                receiver.wait_for(count + 1, timeout=0.5)
    finally:
        dispatcher.stop()
        thread.join(10)


def _assert_nothing_forbidden(receiver: Receiver, journeys: list[Journey]) -> None:
    for request in receiver.requests:
        body = request.body.decode()
        data = json.loads(body)["data"]
        assert not {"account_id", "decided_by", "checks", "case_id"} & set(data), data
        for reason in data.get("reasons", []):
            assert set(reason) == {"code"}
        for secret in (REVIEWER, "0.6132", "distance", *(j.account_id for j in journeys)):
            assert secret not in body, (json.loads(body)["type"], secret)


def _ids(receiver: Receiver) -> set[str]:
    """The resources a receiver heard of: applications, cards and outlets."""
    found = set()
    for event in receiver.events():
        data = event["data"]
        found |= {data[k] for k in ("application_id", "card_id", "outlet_id") if k in data}
    return found


def test_a_bank_integrator_never_receives_another_banks_card_events(
    consuming_service, token_authority
):
    service = consuming_service
    icbc, ccb = Journey(bank_code="ICBC"), Journey(bank_code="CCB")
    with Receiver() as icbc_hook, Receiver() as ccb_hook:
        service.subscribe(bank_integrator(token_authority, "ICBC"), icbc_hook.url, ["*"])
        service.subscribe(bank_integrator(token_authority, "ccb"), ccb_hook.url, ["*"])
        events = _journey_events(icbc) + _journey_events(ccb)
        _deliver(service, events, [icbc_hook, ccb_hook], [PUBLIC_PER_JOURNEY] * 2)

    for hook, ours, theirs in ((icbc_hook, icbc, ccb), (ccb_hook, ccb, icbc)):
        received = hook.events()
        assert {e["data"].get("bank_code") for e in received} - {None} == {ours.bank_code}
        assert _ids(hook) == {ours.application_id, ours.card_id, ours.outlet_id}
        assert not _ids(hook) & {theirs.application_id, theirs.card_id, theirs.outlet_id}
        cards = sorted(e["type"] for e in received if e["type"].startswith("card."))
        assert cards == ["card.print_requested", "card.printed", "card.ready_for_pickup"]
        _assert_nothing_forbidden(hook, [icbc, ccb])
        # One pseudonym for the one citizen, within this subscription.
        refs = {e["data"].get("holder_ref") for e in received} - {None}
        assert len(refs) == 1
    assert not {e["data"].get("holder_ref") for e in icbc_hook.events()} & {
        e["data"].get("holder_ref") for e in ccb_hook.events()
    } - {None}


def test_a_channel_integrator_never_receives_events_of_citizens_who_did_not_bind_it(
    consuming_service, token_authority
):
    service = consuming_service
    client = service.client
    admin = token_authority.admin()
    accounts = {"wechat": "wechat-integrator", "alipay": "alipay-integrator"}
    for channel, account in accounts.items():
        granted = client.put(
            f"/api/v1/integrators/{account}/scope",
            json={"kind": "channel", "value": channel},
            headers=admin,
        )
        assert granted.status_code == 200, granted.get_data(as_text=True)
    bound, unbound = Journey(), Journey()
    bind = client.put(
        "/api/v1/channels/wechat",
        json={"address": "oWx" + "b" * 25},
        headers=token_authority.citizen(bound.account_id),
    )
    assert bind.status_code == 204
    with Receiver() as wechat_hook, Receiver() as alipay_hook:
        for channel, hook in (("wechat", wechat_hook), ("alipay", alipay_hook)):
            headers = token_authority.headers([INTEGRATOR], subject=accounts[channel])
            created = service.subscribe(headers, hook.url, ["verification.*", "card.*"])
            assert created["scope"] == {"kind": "channel", "value": channel}
        events = _journey_events(bound) + _journey_events(unbound)
        # verification.* and card.*: the outlet and the cancellation are not asked for.
        _deliver(service, events, [wechat_hook, alipay_hook], [PUBLIC_PER_JOURNEY - 1, 0])

    # The cards name their outlet; nothing of the citizen who did not bind WeChat arrives.
    assert _ids(wechat_hook) == {bound.application_id, bound.card_id, bound.outlet_id}
    assert not _ids(wechat_hook) & {unbound.application_id, unbound.card_id}
    assert alipay_hook.requests == []
    _assert_nothing_forbidden(wechat_hook, [bound, unbound])


def test_scopes_are_granted_by_admins_only_and_an_integrator_without_one_cannot_subscribe(
    service, token_authority
):
    client = service.client
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["card.*"]}
    plain = token_authority.headers([INTEGRATOR], subject="no-scope-yet")
    refused = client.post("/api/v1/subscriptions", json=body, headers=plain)
    assert refused.status_code == 403
    assert "scope" in refused.get_json()["detail"]
    grant = {"kind": "bank", "value": "icbc"}
    path = "/api/v1/integrators/no-scope-yet/scope"
    assert client.put(path, json=grant, headers=plain).status_code == 403
    assert client.put(path, json=grant, headers=bank_integrator(token_authority)).status_code == 403
    admin = token_authority.admin()
    for bad in (
        {"kind": "bank", "value": "bad.code"},
        {"kind": "channel", "value": "sms"},
        {"kind": "everything", "value": "x"},
    ):
        assert client.put(path, json=bad, headers=admin).status_code == 422, bad
    granted = client.put(path, json=grant, headers=admin).get_json()
    assert granted["scope"] == {"kind": "bank", "value": "ICBC"}
    assert client.get(path, headers=admin).get_json()["scope"] == granted["scope"]

    created = service.subscribe(plain, **body)
    assert created["scope"] == {"kind": "bank", "value": "ICBC"}
    asked_more = {**body, "scope": {"kind": "bank", "value": "CCB"}}
    assert client.post("/api/v1/subscriptions", json=asked_more, headers=plain).status_code == 403
    # An admin's own subscription names its scope.
    assert client.post("/api/v1/subscriptions", json=body, headers=admin).status_code == 422

    assert client.delete(path, headers=admin).status_code == 204
    shown = client.get(
        f"/api/v1/subscriptions/{created['subscription_id']}", headers=plain
    ).get_json()
    assert shown["status"] == "disabled" and "scope" in shown["disabled_reason"]
    assert client.post("/api/v1/subscriptions", json=body, headers=plain).status_code == 403
