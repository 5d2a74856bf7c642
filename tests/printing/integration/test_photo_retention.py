"""An applicant's photo is deleted once the retention after the card's activation has passed:
cards activated more recently, and cards not activated yet, keep theirs (a failed print is
printed again from it). The purge runs in batches, once per photo, on a thread of the worker;
an activated card whose photo is gone is shown as before and never printed again."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.printing import config, housekeeping
from services.printing.app import create_app
from services.printing.dao import dao_get_applicant
from services.printing.handlers import HANDLERS
from services.printing.housekeeping import purge_activated_photos
from services.printing.models import Applicant, Card, CardHistoryEntry, ClosedApplication
from services.printing.use_cases import retention
from services.printing.worker import start_housekeeping
from shared.db.uow import UnitOfWork
from shared.testing.infrastructure import database_backend
from shared.time import utcnow
from tests.printing.factories import Application, bank_report, card_photo, delivery
from tests.printing.integration.helpers import (
    handle_one_by_one,
    ordered_card,
    outbox_events,
)

RETENTION = timedelta(days=30)
AFTER_PRINT = ("printed", "shipped", "ready_for_pickup", "collected", "activated")


@pytest.fixture(scope="module")
def client(printing):
    settings, _database = printing
    app = create_app(settings)
    app.testing = True
    yield app.test_client()
    app.extensions["sscard"].database.dispose()


# -- cards at the stage each test needs ---------------------------------------------------------


def card_reported(printing, files, *statuses: str) -> Card:
    """A card ordered and then reported by its bank as having gone through `statuses`."""
    settings, deps = printing
    card = ordered_card(settings, deps, files)
    reports = [from_the_bank(card, status) for status in statuses]
    assert handle_one_by_one(settings, deps, HANDLERS, *reports) == ["handled"] * len(reports)
    return card


def from_the_bank(card: Card, status: str):
    """The bank's report as the worker receives it, under its routing key."""
    return delivery(bank_report(card.card_id, status), f"bank.ICBC.{status}")


def activated(printing, files, *, ago: timedelta) -> Card:
    card = card_reported(printing, files, *AFTER_PRINT)
    recorded_ago(printing, card, ago)
    return card


def recorded_ago(printing, card: Card, age: timedelta) -> None:
    """As if every status of the card had been recorded `age` ago."""
    _settings, deps = printing
    database = deps.database
    with database.session_factory() as session, session.begin():
        session.execute(
            update(CardHistoryEntry)
            .where(CardHistoryEntry.card_id == card.card_id)
            .values(recorded_at=utcnow() - age)
        )


def purge(printing, **kwargs) -> int:
    _settings, deps = printing
    database = deps.database
    return purge_activated_photos(database, retention=RETENTION, **kwargs)


def kept(printing, card: Card) -> Applicant:
    _settings, deps = printing
    database = deps.database
    with database.session_factory() as session:
        return dao_get_applicant(session, card.application_id, with_photo=True)


def photo_of(printing, applicant: Applicant) -> bytes:
    """The photo as the service reads it: sealed at rest, opened with its key and name."""
    _settings, deps = printing
    return deps.photo_cipher.open(
        applicant.photo, name=f"applicants/{applicant.application_id}/photo"
    )


# -- the retention -----------------------------------------------------------------------------


def test_photos_of_cards_activated_longer_ago_than_the_retention_are_deleted(printing, files):
    old = activated(printing, files, ago=RETENTION + timedelta(hours=1))
    young = activated(printing, files, ago=RETENTION - timedelta(hours=1))
    # Not activated yet, however long ago its last step: still at the outlet, or reprintable.
    waiting = card_reported(printing, files, "printed", "shipped", "ready_for_pickup")
    recorded_ago(printing, waiting, 10 * RETENTION)
    failed = card_reported(printing, files, "print_failed")
    recorded_ago(printing, failed, 10 * RETENTION)

    before = utcnow()
    assert purge(printing) >= 1

    gone = kept(printing, old)
    assert gone.photo is None
    assert gone.photo_deleted_at is not None and gone.photo_deleted_at >= before
    # The rest stays: the card's holder is shown by it.
    assert (gone.name, gone.id_number_masked) == ("张秀英", "110105********002X")
    assert gone.photo_sha256 and gone.photo_content_type == "image/jpeg"
    for card in (young, waiting, failed):
        applicant = kept(printing, card)
        assert photo_of(printing, applicant) == card_photo()
        assert applicant.photo_deleted_at is None


def test_purging_again_changes_nothing(printing, files):
    card = activated(printing, files, ago=RETENTION + timedelta(hours=1))
    assert purge(printing) >= 1
    first = kept(printing, card)

    assert purge(printing) == 0

    again = kept(printing, card)
    assert again.photo is None
    assert again.photo_deleted_at == first.photo_deleted_at


def test_the_purge_goes_a_batch_of_photos_per_transaction(printing, files, monkeypatch):
    purge(printing)  # whatever earlier tests left past the retention
    cards = [activated(printing, files, ago=RETENTION + timedelta(hours=1)) for _ in range(5)]
    batches: list[int] = []
    look = retention.dao_list_applicants_keeping_photo_of_cards_activated_before

    def counted(*args, **kwargs):
        batches.append(len(found := look(*args, **kwargs)))
        return found

    monkeypatch.setattr(
        retention, "dao_list_applicants_keeping_photo_of_cards_activated_before", counted
    )
    assert purge(printing, batch=2) == 5
    assert batches == [2, 2, 1]
    assert all(kept(printing, card).photo is None for card in cards)


@pytest.mark.skipif(
    database_backend() == "sqlite",
    reason="on SQLite every transaction takes the write lock when it begins: none interleave",
)
def test_an_applicant_another_transaction_holds_is_skipped_and_purged_next_time(printing, files):
    _settings, deps = printing
    database = deps.database
    card = activated(printing, files, ago=RETENTION + timedelta(hours=1))
    with ThreadPoolExecutor(1) as pool, UnitOfWork(database, "printing") as holder:
        holder.session.get(Applicant, card.application_id, with_for_update=True)
        pool.submit(purge, printing).result(timeout=30)  # not waited for
        assert photo_of(printing, kept(printing, card)) == card_photo()
        holder.commit()
    assert purge(printing) >= 1
    assert kept(printing, card).photo is None


def test_an_activated_card_whose_photo_is_gone_is_shown_and_never_printed_again(
    printing, files, client, token_authority
):
    settings, deps = printing
    database = deps.database
    card = activated(printing, files, ago=RETENTION + timedelta(hours=1))
    purge(printing)
    assert kept(printing, card).photo is None

    for headers in (token_authority.admin(), token_authority.bank_operator("ICBC")):
        shown = client.get(f"/api/v1/cards/{card.card_id}", headers=headers)
        assert shown.status_code == 200, shown.get_data(as_text=True)
        assert shown.get_json()["status"] == "activated"
        assert shown.get_json()["holder"] == {
            "name": "张秀英",
            "id_number_masked": "110105********002X",
        }
        listed = client.get(f"/api/v1/cards?application_id={card.application_id}", headers=headers)
        assert [item["card_id"] for item in listed.get_json()["items"]] == [card.card_id]
    reprint = client.post(f"/api/v1/cards/{card.card_id}/reprint", headers=token_authority.admin())
    assert reprint.status_code == 409

    # A late approval or report: nothing printed, nothing fails.
    application = Application(files, application_id=card.application_id)
    late = [application.approved(), from_the_bank(card, "activated")]
    assert handle_one_by_one(settings, deps, HANDLERS, *late) == ["handled", "handled"]
    assert len(outbox_events(database, "card.print_request", card.card_id)) == 1
    assert len(outbox_events(database, "card.activated", card.card_id)) == 1


# -- the worker's side -------------------------------------------------------------------------


def test_the_worker_purges_on_a_thread_of_its_own_until_told_to_stop(printing, files, monkeypatch):
    _settings, deps = printing
    database = deps.database
    card = activated(printing, files, ago=RETENTION + timedelta(hours=1))
    purges: queue.Queue[int] = queue.Queue()
    run = housekeeping.purge_activated_photos

    def reported(*args, **kwargs):
        purges.put(removed := run(*args, **kwargs))
        return removed

    monkeypatch.setattr(housekeeping, "purge_activated_photos", reported)
    stop = threading.Event()
    thread = housekeeping.purge_every(0.01, database, retention=RETENTION, stop=stop)
    try:
        assert thread.daemon and thread is not threading.current_thread()
        assert purges.get(timeout=10) >= 1
        assert purges.get(timeout=10) == 0  # and again, with nothing left to delete
        assert kept(printing, card).photo is None
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("env", "threads"),
    [
        ({}, ["activated-photos-purge", "expiry-notices"]),
        ({"PRINTING_PHOTO_RETENTION_DAYS": "0"}, ["expiry-notices"]),
        ({"PRINTING_PHOTO_PURGE_INTERVAL_SECONDS": "0"}, ["expiry-notices"]),
        ({"PRINTING_EXPIRY_NOTICE_INTERVAL_SECONDS": "0"}, ["activated-photos-purge"]),
    ],
)
def test_the_worker_purges_unless_the_retention_or_the_interval_is_off(printing, env, threads):
    settings, deps = printing
    database = deps.database
    options = config.options(config.load({**settings.environ, **env}))
    stop = threading.Event()
    started = start_housekeeping(options, database, stop=stop)
    try:
        assert [thread.name for thread in started] == threads
    finally:
        stop.set()
        for thread in started:
            thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in started)


# -- applicant copies a cancellation or rejection missed ----------------------------------------


def test_an_applicant_copy_a_closed_application_kept_is_deleted_by_the_purge(printing, files):
    settings, deps = printing
    database = deps.database
    missed, live = Application(files), Application(files)
    handle_one_by_one(settings, deps, HANDLERS, missed.submitted(), live.submitted())
    with database.session_factory() as session, session.begin():
        # The race: the tombstone written while a retried submission stored the copy.
        session.add(
            ClosedApplication(
                application_id=missed.application_id, outcome="rejected", closed_at=utcnow()
            )
        )
    ordered = ordered_card(settings, deps, files)  # a card: its applicant stays, closed or not
    with database.session_factory() as session, session.begin():
        session.add(
            ClosedApplication(
                application_id=ordered.application_id, outcome="cancelled", closed_at=utcnow()
            )
        )

    assert housekeeping.forget_closed_applicants(database) == 1

    with database.session_factory() as session:
        assert dao_get_applicant(session, missed.application_id) is None
        assert dao_get_applicant(session, live.application_id) is not None
        assert dao_get_applicant(session, ordered.application_id) is not None
    assert housekeeping.forget_closed_applicants(database) == 0
