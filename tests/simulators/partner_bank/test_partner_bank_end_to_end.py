"""The partner bank simulator as its own process against the real broker and the real printing
service: a print message in, its signature checked with the served key, three reports out;
a tampered message reported as print_failed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from contextlib import ExitStack

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from services.printing.adapters.print_queues import printing_topology
from services.printing.app import create_app
from services.printing.dao import dao_list_bank_commands
from services.printing.deps import build
from services.printing.domain import actors
from services.printing.domain.reports import StatusReport
from services.printing.handlers import HANDLERS
from services.printing.models import Card
from services.printing.use_cases.after_activation import (
    cancel_card,
    report_card_lost,
    unblock_card,
)
from services.printing.use_cases.card_reports import report_card_status
from shared.config import env_name, load_settings
from shared.db.migrations import upgrade
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import bind_handlers
from shared.testing.infrastructure import isolated_vhost, temporary_database
from shared.testing.running import running_consumer, running_relay
from shared.testing.tokens import TEST_SERVICE_SECRET
from shared.testing.waiting import wait_until
from shared.time import utcnow
from sscardctl.seed import seed_partner_banks
from tests.printing.factories import FileServer
from tests.printing.integration.helpers import ordered_card, outbox_events, publish


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def printing_service(tmp_path_factory, token_authority):
    """The printing service's web (over real HTTP), worker and relay on an empty vhost and a
    database of their own, demo banks seeded; shared by this module's tests, which each use
    their own cards."""
    directory = tmp_path_factory.mktemp("printing")
    with ExitStack() as stack:
        amqp_url = stack.enter_context(isolated_vhost("bank"))
        database_url = stack.enter_context(temporary_database("printing", directory))
        files = FileServer(token_authority)
        stack.callback(files.stop)
        settings = load_settings(
            "printing",
            {
                **os.environ,
                env_name("printing", "DATABASE_URL"): database_url,
                "AMQP_URL": amqp_url,
                "SSCARD_VAR_DIR": str(directory / "var"),
                "REGISTRATION_URL": token_authority.url,
                "APPLICATION_URL": files.url,
                "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
                "SSCARD_RETRY_DELAYS_MS": "100,200,400",
                "SSCARD_RELAY_POLL_INTERVAL": "0.01",
                "LOG_FORMAT": "text",
            },
        )
        upgrade(settings)
        seed_partner_banks(settings)
        deps = build(settings)
        database = deps.database
        stack.callback(database.dispose)
        app = create_app(settings)
        stack.callback(app.extensions["sscard"].database.dispose)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stack.callback(server.shutdown)
        handlers = bind_handlers(HANDLERS, deps)
        stack.enter_context(
            running_consumer(settings, database, handlers, declare=printing_topology(database))
        )
        yield settings, deps, f"http://127.0.0.1:{server.port}", files


@pytest.fixture(scope="module")
def bank(printing_service):
    settings, _deps, printing_url, _files = printing_service
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.partner_bank"],
        env={
            **os.environ,
            "AMQP_URL": settings.amqp_url,
            "PRINTING_URL": printing_url,
            "PARTNER_BANK_PORT": str(port),
            "PARTNER_BANK_STEP_DELAY_SECONDS": "0.1",
        },
    )
    url = f"http://127.0.0.1:{port}"

    def listening_to_every_bank():
        try:
            status = requests.get(f"{url}/control/v1/status", timeout=1).json()
        except requests.RequestException:
            return False
        return status["connected"] and {"ICBC", "CCB", "BOC"} <= set(status["banks"])

    try:
        wait_until(listening_to_every_bank, timeout=30, what="the bank to consume")
        yield url
    finally:
        process.terminate()
        process.wait(15)


def bank_status(bank: str) -> dict:
    return requests.get(f"{bank}/control/v1/status", timeout=5).json()


def card_now(database, card_id: str) -> Card:
    with database.session_factory() as session:
        return session.scalar(select(Card).where(Card.card_id == card_id))


def test_a_print_message_is_verified_printed_shipped_and_made_ready_for_pickup(
    printing_service, bank
):
    settings, deps, _url, files = printing_service
    database = deps.database
    assert requests.get(f"{bank}/healthz", timeout=5).status_code == 200
    before = bank_status(bank)
    with running_relay(settings, database):
        card = ordered_card(settings, deps, files)
        wait_until(
            lambda: card_now(database, card.card_id).status == "ready_for_pickup",
            timeout=30,
            what="the bank's three reports",
        )
    done = card_now(database, card.card_id)
    assert done.bank_account_masked.startswith("622202")
    assert "*" in done.bank_account_masked and len(done.bank_account_masked) == 19
    for status in ("printed", "shipped", "ready_for_pickup"):
        [event] = outbox_events(database, f"card.{status}", card.card_id)
        assert event["correlationid"] == card.application_id
    after = bank_status(bank)
    assert after["verified"] - before["verified"] == 1
    assert after["bad_signatures"] == before["bad_signatures"]
    for status in ("printed", "shipped", "ready_for_pickup"):
        assert after["reported"][status] - before["reported"].get(status, 0) == 1
    assert after["in_production"] == 0


def test_a_tampered_print_message_is_reported_as_print_failed(printing_service, bank):
    settings, deps, _url, files = printing_service
    database = deps.database
    before = bank_status(bank)
    card = ordered_card(
        settings, deps, files, bank_code="BOC", outlet_id="7bd41e27-ada7-5cb5-8803-83370118b76d"
    )
    # No relay runs: the genuine message stays in the outbox, a forged copy goes out instead.
    [genuine] = outbox_events(database, "card.print_request", card.card_id)
    forged = {key: value for key, value in genuine.items() if not key.startswith("_")}
    forged["data"] = {**forged["data"], "name": "王五"}
    publish(settings, "sscard.print", "BOC", json.dumps(forged).encode(), forged["id"])

    wait_until(
        lambda: card_now(database, card.card_id).status == "print_failed",
        timeout=30,
        what="the bank to refuse the forgery",
    )
    assert "signature" in card_now(database, card.card_id).reason
    [failed] = outbox_events(database, "card.print_failed", card.card_id)
    assert "signature verification failed" in failed["data"]["reason"]
    after = bank_status(bank)
    assert after["bad_signatures"] - before["bad_signatures"] == 1
    assert after["reported"]["print_failed"] - before["reported"].get("print_failed", 0) == 1
    assert after["verified"] == before["verified"]


def test_the_control_endpoint_changes_settings_and_refuses_nonsense(bank):
    knobs = {"failure_rate": 0.5, "step_delay_seconds": 2}
    changed = requests.put(f"{bank}/control/v1/settings", json=knobs, timeout=5)
    assert changed.status_code == 200
    assert changed.json()["settings"] == {"failure_rate": 0.5, "step_delay_seconds": 2.0}
    restored = {"failure_rate": 0, "step_delay_seconds": 0.1}
    assert requests.put(f"{bank}/control/v1/settings", json=restored, timeout=5).ok
    bad = requests.put(f"{bank}/control/v1/settings", json={"failure_rate": 7}, timeout=5)
    assert bad.status_code == 422
    assert bad.headers["Content-Type"] == "application/problem+json"
    assert "failure_rate" in bad.json()["errors"]
    assert requests.get(f"{bank}/nothing", timeout=5).status_code == 404


def _activate(deps, card_id: str) -> None:
    for status in ("collected", "activated"):
        report = StatusReport(status, "operator:test", utcnow())
        with UnitOfWork(deps.database, "printing") as uow:
            report_card_status(uow, card_id=card_id, visible_to_bank=None, report=report)
            uow.commit()


def _commands(database, card_id: str) -> list[tuple[str, bool]]:
    with database.session_factory() as session:
        return [
            (command.command, command.confirmed_at is not None)
            for command in dao_list_bank_commands(session, card_id)
        ]


def test_signed_block_unblock_and_cancel_commands_are_verified_and_confirmed(
    printing_service, bank
):
    settings, deps, _url, files = printing_service
    database = deps.database
    before = bank_status(bank)
    with running_relay(settings, database):
        card = ordered_card(settings, deps, files)
        wait_until(
            lambda: card_now(database, card.card_id).status == "ready_for_pickup",
            timeout=30,
            what="the bank's three reports",
        )
        _activate(deps, card.card_id)
        holder = actors.holder(card.account_id)
        with UnitOfWork(deps.database, "printing") as uow:
            report_card_lost(uow, deps, card_id=card.card_id, actor=holder)
            uow.commit()
        with UnitOfWork(deps.database, "printing") as uow:
            operator = actors.bank_operator("op", "ICBC")
            unblock_card(uow, deps, card_id=card.card_id, actor=operator, outlet_id=card.outlet_id)
            uow.commit()
        with UnitOfWork(deps.database, "printing") as uow:
            cancel_card(
                uow, deps, card_id=card.card_id, actor=actors.admin("a"), reason="holder_request"
            )
            uow.commit()
        wait_until(
            lambda: all(confirmed for _, confirmed in _commands(database, card.card_id)),
            timeout=30,
            what="the bank to confirm the three commands",
        )
    assert _commands(database, card.card_id) == [
        ("card.block_request", True),
        ("card.unblock_request", True),
        ("card.cancel_request", True),
    ]
    assert card_now(database, card.card_id).status == "cancelled"
    after = bank_status(bank)
    assert after["commands_confirmed"] - before["commands_confirmed"] == 3
    assert after["bad_signatures"] == before["bad_signatures"]


def test_a_forged_command_is_refused_and_never_confirmed(printing_service, bank):
    settings, deps, _url, files = printing_service
    database = deps.database
    before = bank_status(bank)
    with running_relay(settings, database):
        card = ordered_card(settings, deps, files)
        wait_until(
            lambda: card_now(database, card.card_id).status == "ready_for_pickup",
            timeout=30,
            what="the bank's three reports",
        )
    _activate(deps, card.card_id)
    with UnitOfWork(deps.database, "printing") as uow:
        report_card_lost(uow, deps, card_id=card.card_id, actor=actors.holder(card.account_id))
        uow.commit()
    # No relay: the genuine command stays in the outbox; a copy naming another card goes out.
    [genuine] = outbox_events(database, "card.block_request", card.card_id)
    forged = {key: value for key, value in genuine.items() if not key.startswith("_")}
    forged["data"] = {**forged["data"], "card_serial": "A00000000"}
    publish(settings, "sscard.print", "ICBC", json.dumps(forged).encode(), forged["id"])
    wait_until(
        lambda: bank_status(bank)["bad_signatures"] - before["bad_signatures"] == 1,
        timeout=30,
        what="the bank to refuse the forgery",
    )
    assert bank_status(bank)["commands_confirmed"] == before["commands_confirmed"]
    assert _commands(database, card.card_id) == [("card.block_request", False)]
