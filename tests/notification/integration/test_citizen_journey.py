"""A citizen hears about every step of their application on every channel they bound — once
per event and channel, even when the broker delivers every event twice."""

from __future__ import annotations

import collections

import pytest

from services.notification.adapters.providers import RecordingProvider
from services.notification.domain.messages import CITIZEN_EVENT_TYPES
from services.notification.handlers import HANDLERS
from shared.messaging.consumer import Outcome
from shared.testing.running import running_consumer
from shared.testing.waiting import event_waiter
from tests.notification.factories import ID_NUMBER, Journey
from tests.notification.integration.conftest import make_service, publish


@pytest.fixture
def consuming_service(settings_factory, fresh_broker_url):
    under_test = make_service(settings_factory, amqp_url=fresh_broker_url)
    yield under_test
    for dispatcher in under_test.dispatchers:
        dispatcher.close()
    under_test.database.dispose()


def test_a_full_journey_gives_one_notification_per_event_and_bound_channel(
    consuming_service, token_authority
):
    service = consuming_service
    lina, wei = Journey(), Journey(phone="13900001111", acceptance_number="SB3XK7PA")
    citizen = token_authority.citizen(lina.account_id)
    happy = lina.happy_path()
    # Wei's application is rejected, then Wei applies again and cancels.
    second = Journey(
        account_id=wei.account_id, outlet_id=lina.outlet_id, acceptance_number="SB9QW2ER"
    )
    unhappy = [
        wei.account_registered(),
        wei.application_submitted(),
        wei.verification("rejected"),
        second.application_submitted(),
        second.application_cancelled(),
        # Someone else proved Wei's ID number was theirs: Wei's account is locked.
        wei.account_locked(),
    ]
    # Zhou's card, after its activation: reported lost, unblocked, replaced, cancelled, expiring.
    zhou = Journey(phone="13700002222", outlet_id=lina.outlet_id, acceptance_number="SBZ7R4QH")
    later = [zhou.account_registered(), zhou.application_submitted(), *zhou.after_activation()]
    assert set(HANDLERS) <= {e.type for e in happy + unhappy + later}  # every handler is run

    with running_consumer(service.settings, service.database, service.handlers) as runner:
        # The registration phone arrives first; then Lina adds e-mail and an English WeChat.
        with event_waiter(runner, event_id=happy[0].id, count=2) as registered:
            publish(service.settings, happy[:1], copies=2)
            registered.wait(20)
        for channel, body in (
            ("email", {"address": "lina@example.com"}),
            ("wechat", {"address": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "locale": "en"}),
        ):
            response = service.client.put(f"/api/v1/channels/{channel}", json=body, headers=citizen)
            assert response.status_code == 204, response.get_data(as_text=True)

        rest = happy[1:] + unhappy + later
        with event_waiter(runner, count=2 * len(rest)) as waiter:
            publish(service.settings, rest, copies=2)
            settled = waiter.wait(40)
    outcomes = collections.Counter(item.outcome for item in settled)
    assert outcomes == {Outcome.HANDLED: len(rest), Outcome.DUPLICATE: len(rest)}

    notes = service.notifications(lina.account_id)
    per_event = collections.Counter((n.event_id, n.channel) for n in notes)
    assert set(per_event.values()) == {1}
    notifying = [e for e in happy if e.type in CITIZEN_EVENT_TYPES]
    assert len(notifying) == 11
    assert {(e.id, c) for e in notifying for c in ("sms", "email", "wechat")} == set(per_event)

    by_type = {(n.event_type, n.channel): n for n in notes}
    submitted_sms = by_type["application.submitted", "sms"].body
    assert submitted_sms.startswith("【社保卡】") and lina.acceptance_number in submitted_sms
    pickup = by_type["card.ready_for_pickup", "email"].body
    assert "工商银行海淀支行" in pickup and "中关村大街 1 号" in pickup
    assert "ready for pickup at 工商银行海淀支行" in by_type["card.ready_for_pickup", "wechat"].body
    assert all(ID_NUMBER not in n.body for n in notes)

    wei_notes = {n.event_type: n for n in service.notifications(wei.account_id)}
    assert len(service.notifications(wei.account_id)) == 5  # sms only: no other binding
    rejected = wei_notes["verification.rejected"].body
    assert "照片中必须有且只有一张清晰的人脸" in rejected and "户籍" in rejected
    assert "photo_single_face" not in rejected
    assert "SB9QW2ER" in wei_notes["application.cancelled"].body
    assert "账户已停用" in wei_notes["account.locked"].body

    zhou_notes = {n.event_type: n for n in service.notifications(zhou.account_id)}
    assert set(zhou_notes) == {"application.submitted", *(e.type for e in later[2:])}
    assert "已挂失" in zhou_notes["card.reported_lost"].body
    assert "SBZ7R4QH" in zhou_notes["card.replaced"].body

    # The dispatcher sends them all through the recording provider, each exactly once.
    dispatcher = service.dispatcher()
    while dispatcher.run_once():
        pass
    assert {n.status for n in service.notifications()} == {"sent"}
    recording = RecordingProvider(service.settings.data_dir / "recorded")
    sms = recording.recorded("sms")
    assert len(sms) == 11 + 5 + 6  # Lina's statuses; Wei's four and his lock; Zhou's six
    assert len({r["notification_id"] for r in sms}) == len(sms)
    assert {r["to"] for r in sms} == {"138****5678", "139****1111", "137****2222"}
    assert len(recording.recorded("email")) == len(recording.recorded("wechat")) == 11

    listed = service.client.get("/api/v1/notifications?limit=200", headers=citizen).get_json()
    assert len(listed["items"]) == 33
    assert {item["status"] for item in listed["items"]} == {"sent"}
    assert set(listed["items"][0]) >= {
        "notification_id",
        "channel",
        "event_type",
        "status",
        "body",
        "created_at",
    }
    assert listed["items"][0]["created_at"].endswith("Z")
    theirs = service.client.get(
        "/api/v1/notifications", headers=token_authority.citizen(wei.account_id)
    ).get_json()
    assert {item["event_type"] for item in theirs["items"]} == {
        "account.locked",
        "application.submitted",
        "verification.rejected",
        "application.cancelled",
    }


def test_handlers_called_twice_without_the_inbox_still_add_nothing(service):
    """The unique keys hold on their own, should an event ever bypass the inbox."""
    journey = Journey()
    events = journey.happy_path()
    service.handle(*events)
    first = [(n.event_id, n.channel, n.body) for n in service.notifications()]
    service.handle(*events)
    assert [(n.event_id, n.channel, n.body) for n in service.notifications()] == first
    assert len(first) == 11


def test_a_late_outlet_event_never_overwrites_a_newer_one(service):
    journey = Journey()
    newer = journey.outlet_upserted(name="新名字网点")
    older = journey.outlet_upserted(name="旧名字网点")
    older = older.__class__(**{**older.__dict__, "time": "2020-01-01T00:00:00.000Z"})
    service.handle(journey.account_registered(), newer, older, journey.application_submitted())
    service.handle(journey.card("ready_for_pickup"))
    [pickup] = [n for n in service.notifications() if n.event_type == "card.ready_for_pickup"]
    assert "新名字网点" in pickup.body


def test_a_citizen_without_a_known_phone_yet_is_told_once_it_arrives(service):
    """Reordering: the application is submitted before `account.registered` reaches us."""
    journey = Journey()
    service.handle(journey.outlet_upserted(), journey.application_submitted())
    [note] = service.notifications(journey.account_id)
    assert (note.channel, note.status) == ("sms", "queued")
    dispatcher = service.dispatcher()
    dispatcher.run_once()
    [note] = service.notifications(journey.account_id)
    assert note.status == "queued" and note.last_error == "no address bound on this channel yet"

    service.handle(journey.account_registered())
    with service.database.session_factory() as session, session.begin():
        session.merge(note).next_attempt_at = note.created_at  # due again now
    dispatcher.run_once()
    [note] = service.notifications(journey.account_id)
    assert note.status == "sent"
