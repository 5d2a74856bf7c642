"""Against the real broker: one print message per approved application even when the worker
is killed half-way; banks' status reports over AMQP, and another bank's refused into the DLQ."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from services.printing.adapters.print_queues import printing_topology
from services.printing.handlers import HANDLERS
from services.printing.use_cases.outlets import put_bank
from shared.config import env_name
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Outcome, bind_handlers
from shared.messaging.dlq import list_dead_letters
from shared.messaging.relay import OutboxRelay
from shared.testing.running import running_consumer
from shared.testing.waiting import event_waiter, wait_until
from tests.printing.factories import Application, bank_report
from tests.printing.integration.helpers import (
    cards_of,
    consumers,
    handle,
    ordered_card,
    outbox_events,
    publish_event,
    queue_depth,
    take_one,
)


def _worker_process(settings, marker) -> subprocess.Popen:
    env = {
        **settings.environ,
        "AMQP_URL": settings.amqp_url,
        env_name("printing", "DATABASE_URL"): settings.database_url,
        "SSCARD_VAR_DIR": str(settings.var_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.printing.integration.worker_process", str(marker)],
        env={key: value for key, value in env.items() if value is not None},
    )


def test_a_worker_killed_inside_the_approval_leaves_exactly_one_card_and_one_print_message(
    printing_on_own_broker, files, tmp_path
):
    settings, deps = printing_on_own_broker
    database = deps.database
    application = Application(files)
    assert handle(settings, deps, HANDLERS, application.submitted()) == ["handled"]

    marker = tmp_path / "inside-approval"
    process = _worker_process(settings, marker)
    try:
        approved = application.approved()
        wait_until(lambda: consumers(settings, "printing.events"), timeout=30, what="the worker")
        publish_event(settings, approved)
        wait_until(marker.exists, timeout=30, what="the worker inside the handler")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
    assert cards_of(database, application.application_id) == []  # died with its transaction

    declare = printing_topology(database)
    handlers = bind_handlers(HANDLERS, deps)
    with running_consumer(settings, database, handlers, declare=declare) as runner:
        with event_waiter(runner, event_id=approved.id) as waiter:
            [settled] = waiter.wait(30)
        assert settled.outcome is Outcome.HANDLED and settled.delivery.redelivered
        second = application.approved()  # and verification announces it once more
        with event_waiter(runner, event_id=second.id) as waiter:
            publish_event(settings, second)
            waiter.wait(30)

    [card] = cards_of(database, application.application_id)
    assert len(outbox_events(database, "card.print_request", card.card_id)) == 1
    relay = OutboxRelay(settings, database)
    try:
        while relay.relay_once():
            pass
    finally:
        relay.publisher.close()
    wait_until(lambda: queue_depth(settings, "print.ICBC") == 1, what="the print message")
    method, properties, body = take_one(settings, "print.ICBC")
    message = json.loads(body)
    assert method.routing_key == "ICBC"
    assert properties.delivery_mode == 2
    assert message["type"] == "card.print_request"
    assert message["dataschema"] == "urn:sscard:card.print_request:v1"
    assert message["data"]["card_serial"] == card.card_serial
    assert queue_depth(settings, "print.ICBC") == 0


def test_bank_reports_over_amqp_move_only_the_reporting_banks_own_cards(
    printing_on_own_broker, files
):
    settings, deps = printing_on_own_broker
    database = deps.database
    card = ordered_card(settings, deps, files)
    with UnitOfWork(database, "printing") as uow:
        # Added behind the web's back: no queue yet.
        put_bank(uow, bank_code="NEWBANK", name="新银行")
        uow.commit()

    declare = printing_topology(database)
    handlers = bind_handlers(HANDLERS, deps)
    with running_consumer(settings, database, handlers, declare=declare) as runner:
        assert queue_depth(settings, "print.NEWBANK") == 0  # the worker declared it

        printed = bank_report(card.card_id, "printed", bank_account_masked="6222021234567890128")
        with event_waiter(runner, event_id=printed.id, count=2) as waiter:
            publish_event(settings, printed, "bank.ICBC.printed")
            publish_event(settings, printed, "bank.ICBC.printed")
            outcomes = [item.outcome for item in waiter.wait(20)]
        assert outcomes == [Outcome.HANDLED, Outcome.DUPLICATE]
        [event] = outbox_events(database, "card.printed", card.card_id)
        assert event["data"]["card_serial"] == card.card_serial

        # Another bank, its own routing key, somebody else's card: refused and parked.
        foreign = bank_report(card.card_id, "shipped", bank_code="CCB")
        # The right bank, but a routing key that contradicts the report.
        muddled = bank_report(card.card_id, "shipped")
        with event_waiter(runner, outcome=Outcome.DEAD_LETTER, count=2) as waiter:
            publish_event(settings, foreign, "bank.CCB.shipped")
            publish_event(settings, muddled, "bank.ICBC.ready_for_pickup")
            waiter.wait(20)
        letters = wait_until(
            lambda: len(found := list_dead_letters(settings, "printing")) == 2 and found,
            what="two parked reports",
        )
        assert {letter.message_id for letter in letters} == {foreign.id, muddled.id}
        assert any("bank CCB has no card" in letter.error for letter in letters)
        [card_now] = cards_of(database, card.application_id)
        assert card_now.status == "printed"

        # Reports overtaking each other: the later one waits (retries) for the earlier one,
        # and keeps its routing key through the retry queue.
        ready = bank_report(card.card_id, "ready_for_pickup")
        shipped = bank_report(card.card_id, "shipped")
        with event_waiter(runner, event_id=ready.id, outcome=Outcome.HANDLED) as handled:
            with event_waiter(runner, event_id=ready.id, outcome=Outcome.RETRY) as retried:
                publish_event(settings, ready, "bank.ICBC.ready_for_pickup")
                retried.wait(20)
            publish_event(settings, shipped, "bank.ICBC.shipped")
            [settled] = handled.wait(20)
        assert settled.delivery.exchange == ""  # it came back through the retry queue
    [card_now] = cards_of(database, card.application_id)
    assert card_now.status == "ready_for_pickup"
    assert card_now.bank_account_masked == "622202*********0128"
    assert len(list_dead_letters(settings, "printing")) == 2
