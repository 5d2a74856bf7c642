"""The messaging core's promises, against the real RabbitMQ and the real database:
nothing lost, nothing doubled, nothing stuck."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from shared.config import env_name
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Outcome
from shared.messaging.dlq import list_dead_letters, replay
from shared.messaging.relay import OutboxRelay
from shared.messaging.topology import consumer_queue
from shared.testing.infrastructure import close_all_broker_connections, database_backend
from shared.testing.running import running_consumer, running_relay
from shared.testing.waiting import event_waiter, wait_until
from tests.shared.integration import effects

QUEUE = consumer_queue(effects.SERVICE)


def outbox_rows(database, *, published: bool | None = None) -> int:
    table = database.outbox.table
    query = select(func.count()).select_from(table)
    if published is not None:
        condition = (
            table.c.published_at.is_not(None) if published else table.c.published_at.is_(None)
        )
        query = query.where(condition)
    with database.session_factory() as session:
        return session.execute(query).scalar_one()


def test_event_added_in_a_rolled_back_transaction_is_never_published(service):
    settings, database = service
    relay = OutboxRelay(settings, database)
    try:
        with UnitOfWork(database, "verification") as uow:
            uow.add_event(effects.EVENT_TYPE, effects.approved_data())
            uow.rollback()
        with UnitOfWork(database, "verification") as uow:
            uow.add_event(effects.EVENT_TYPE, effects.approved_data())
            # leaving the block without commit() rolls back as well

        assert outbox_rows(database) == 0
        assert relay.relay_once() == 0
        assert effects.queue_depth(settings, QUEUE) == 0

        effects.add_events(database, 1)  # the same path, committed, does arrive
        assert relay.relay_once() == 1
        wait_until(lambda: effects.queue_depth(settings, QUEUE) == 1, what="the committed event")
    finally:
        relay.publisher.close()


class _CrashAfterPublishing(Exception):
    pass


class RelayKilledBeforeMarking(OutboxRelay):
    """Publishes and gets its confirms, then dies before the transaction that marks the rows
    sent can commit — exactly what a SIGKILL at that point leaves behind."""

    def _publish_and_mark(self, session, rows) -> None:
        assert all(self.publisher.publish_batch([row.message() for row in rows]))
        raise _CrashAfterPublishing


def test_relay_killed_between_publish_and_marking_republishes_and_the_inbox_absorbs_it(service):
    settings, database = service
    [event] = effects.add_events(database, 1)

    crashing = RelayKilledBeforeMarking(settings, database)
    with pytest.raises(_CrashAfterPublishing):
        crashing.relay_once()
    crashing.publisher.close()
    assert outbox_rows(database, published=False) == 1

    restarted = OutboxRelay(settings, database)
    assert restarted.relay_once() == 1
    restarted.publisher.close()
    assert outbox_rows(database, published=True) == 1
    wait_until(lambda: effects.queue_depth(settings, QUEUE) == 2, what="both copies queued")

    with (
        running_consumer(settings, database, effects.HANDLERS) as runner,
        event_waiter(runner, event_id=event.id, count=2) as waiter,
    ):
        outcomes = sorted(item.outcome.value for item in waiter.wait())
    assert outcomes == ["duplicate", "handled"]
    assert effects.effect_count(database, event.id) == 1


def _consumer_process(settings, marker, mode: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "AMQP_URL": settings.amqp_url,
        env_name(effects.SERVICE, "DATABASE_URL"): settings.database_url,
        "SSCARD_VAR_DIR": str(settings.var_dir),
        "SSCARD_RETRY_DELAYS_MS": ",".join(map(str, settings.retry_delays_ms)),
        "LOG_FORMAT": "text",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.shared.integration.consumer_process", str(marker), mode],
        env=env,
    )


def test_consumer_killed_inside_a_handler_gets_the_event_again_and_it_takes_effect_once(
    service, tmp_path
):
    settings, database = service
    marker = tmp_path / "inside-handler"
    process = _consumer_process(settings, marker, "hang")
    try:
        event = effects.sample_event()
        effects.publish_event(settings, event)
        wait_until(marker.exists, timeout=30, what="the handler to start")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
    assert effects.effect_count(database, event.id) == 0  # its transaction died with it

    with (
        running_consumer(settings, database, effects.HANDLERS) as runner,
        event_waiter(runner, event_id=event.id) as waiter,
    ):
        [settled] = waiter.wait(30)
    assert settled.outcome is Outcome.HANDLED
    assert settled.delivery.redelivered
    assert effects.effect_count(database, event.id) == 1


def test_sigterm_lets_the_consumer_finish_the_event_in_hand(service, tmp_path):
    settings, database = service
    marker = tmp_path / "inside-handler"
    process = _consumer_process(settings, marker, "slow")
    try:
        event = effects.sample_event()
        effects.publish_event(settings, event)
        wait_until(marker.exists, timeout=30, what="the handler to start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        process.kill()
    assert effects.effect_count(database, event.id) == 1
    assert effects.queue_depth(settings, QUEUE) == 0  # acked before it exited


def test_the_same_event_delivered_twice_changes_nothing_the_second_time(service):
    settings, database = service
    event = effects.sample_event()
    with (
        running_consumer(settings, database, effects.HANDLERS) as runner,
        event_waiter(runner, event_id=event.id, count=2) as waiter,
    ):
        effects.publish_event(settings, event)
        effects.publish_event(settings, event)
        outcomes = [item.outcome for item in waiter.wait()]
    assert outcomes == [Outcome.HANDLED, Outcome.DUPLICATE]
    assert effects.effect_count(database, event.id) == 1


def test_a_poison_message_is_retried_with_growing_delays_then_parked_and_can_be_replayed(service):
    settings, database = service
    # Tiers far enough apart that a busy machine's scheduling noise cannot reorder the gaps.
    settings = settings.with_overrides(retry_delays_ms=(100, 300, 900))
    attempts: list[float] = []
    healed = threading.Event()

    def flaky(uow, event):
        attempts.append(time.monotonic())
        if not healed.is_set():
            raise RuntimeError("downstream says no")
        effects.record_effect(uow, event)

    event = effects.sample_event()
    with running_consumer(settings, database, {effects.EVENT_TYPE: flaky}) as runner:
        tries = 1 + len(settings.retry_delays_ms)
        with event_waiter(runner, event_id=event.id, count=tries) as waiter:
            effects.publish_event(settings, event)
            waiter.wait(30)

        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        assert len(attempts) == tries
        for gap, delay_ms in zip(gaps, settings.retry_delays_ms, strict=True):
            assert gap >= delay_ms / 1000 * 0.9
        assert gaps[-1] > gaps[0]  # growing

        [letter] = wait_until(lambda: list_dead_letters(settings, effects.SERVICE), what="DLQ")
        assert letter.message_id == event.id
        assert letter.kind == "retries-exhausted"
        assert "downstream says no" in letter.error
        assert letter.original_queue == QUEUE
        assert effects.effect_count(database, event.id) == 0

        healed.set()
        with event_waiter(runner, event_id=event.id, outcome=Outcome.HANDLED) as waiter:
            [replayed] = replay(settings, event.id, service=effects.SERVICE)
            waiter.wait(30)
    assert replayed.message_id == event.id
    assert effects.effect_count(database, event.id) == 1
    assert list_dead_letters(settings, effects.SERVICE) == []


def test_malformed_unknown_and_invalid_messages_are_parked_and_the_queue_moves_on(service):
    settings, database = service
    good = effects.sample_event()
    bad_data = effects.body_of(effects.sample_event())
    del bad_data["data"]["case_id"]
    unknown = {**effects.body_of(effects.sample_event()), "type": "verification.vanished"}

    with (
        running_consumer(settings, database, effects.HANDLERS) as runner,
        event_waiter(runner, event_id=good.id, outcome=Outcome.HANDLED) as waiter,
    ):
        effects.publish_raw(settings, b"\x00 not json")
        effects.publish_raw(settings, json.dumps(unknown).encode())
        effects.publish_raw(settings, json.dumps(bad_data).encode())
        effects.publish_event(settings, good)
        waiter.wait(30)

    letters = wait_until(
        lambda: (
            (found := list_dead_letters(settings, effects.SERVICE)) and len(found) == 3 and found
        ),
        what="three parked messages",
    )
    errors = " | ".join(letter.error for letter in letters)
    assert "not JSON" in errors
    assert "unknown event type 'verification.vanished'" in errors
    assert "case_id" in errors
    assert {letter.kind for letter in letters} == {"permanent"}
    assert effects.effect_count(database) == 1


def test_one_failing_event_in_a_batch_does_not_hold_back_the_others(service):
    settings, database = service
    doomed = effects.sample_event()

    def picky(uow, event):
        if event.id == doomed.id:
            raise ValueError("not this one")
        effects.record_effect(uow, event)

    others = [effects.sample_event() for _ in range(20)]
    for event in [*others[:10], doomed, *others[10:]]:
        effects.publish_event(settings, event)
    with (
        running_consumer(settings, database, {effects.EVENT_TYPE: picky}) as runner,
        event_waiter(runner, outcome=Outcome.HANDLED, count=20) as waiter,
    ):
        waiter.wait(30)
    assert effects.distinct_effects(database) == 20
    assert effects.effect_count(database, doomed.id) == 0


def test_broker_dropping_every_connection_loses_and_doubles_nothing(service):
    settings, database = service
    total, rounds = 300, 6
    with (
        running_relay(settings, database),
        running_consumer(settings, database, effects.HANDLERS) as runner,
    ):
        for round_number in range(rounds):
            effects.add_events(database, total // rounds)
            if round_number in (2, 4):
                close_all_broker_connections(settings.amqp_url)
        wait_until(
            lambda: effects.distinct_effects(database) == total, timeout=60, what="every event"
        )
        assert runner.ready.wait(30)  # reconnected
    assert effects.effect_count(database) == total  # none twice
    assert outbox_rows(database, published=False) == 0


@pytest.mark.skipif(database_backend() != "postgresql", reason="SKIP LOCKED is PostgreSQL's")
def test_two_relays_side_by_side_publish_each_event_once(service):
    settings, database = service
    events = effects.add_events(database, 2000)
    relays = [
        OutboxRelay(settings, database.__class__(settings.database_url, effects.metadata))
        for _ in range(2)
    ]
    taken = [0, 0]

    def drain(index: int) -> None:
        while (count := relays[index].relay_once()) > 0:
            taken[index] += count

    settings_small = settings.with_overrides(relay_batch_size=100)
    for relay in relays:
        relay.settings = settings_small
    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for relay in relays:
        relay.publisher.close()
    assert sum(taken) == len(events)
    assert all(taken), "both relays should have shared the work"
    assert effects.queue_depth(settings, QUEUE) == len(events)
