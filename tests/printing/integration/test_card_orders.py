"""From an approved application to exactly one card order and one signed print message."""

from __future__ import annotations

import logging

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy.orm import undefer

from services.printing.handlers import HANDLERS
from services.printing.models import Applicant, ClosedApplication
from tests.printing.factories import ID_NUMBER, Application
from tests.printing.integration.helpers import (
    cards_of,
    handle,
    handle_one_by_one,
    outbox_events,
)


def test_an_approved_application_gets_one_card_and_one_print_message(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    approved = application.approved()

    outcomes = handle_one_by_one(
        settings, deps, HANDLERS, application.submitted(), approved, approved
    )
    assert outcomes == ["handled", "handled", "duplicate"]

    [card] = cards_of(database, application.application_id)
    assert card.status == "print_requested"
    assert len(card.card_serial) == 9
    assert len(card.card_identification_code) == 32
    assert card.card_identification_code.startswith("110105D156")
    [message] = outbox_events(database, "card.print_request", card.card_id)
    assert message["_routing_key"] == "ICBC"
    assert message["data"]["card_serial"] == card.card_serial
    assert message["data"]["social_security_number"] == ID_NUMBER
    assert message["correlationid"] == application.application_id
    assert message["signature"] and message["signaturekeyid"]
    [requested] = outbox_events(database, "card.print_requested", card.card_id)
    assert requested["data"]["card_id"] == card.card_id
    assert requested["data"]["reprint"] is False


def test_a_second_approval_with_another_event_id_still_makes_one_card(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    outcomes = handle(
        settings,
        deps,
        HANDLERS,
        application.submitted(),
        application.approved(),
        application.approved(),  # the verification service decided twice
    )
    assert outcomes == ["handled", "handled", "handled"]
    [card] = cards_of(database, application.application_id)
    assert len(outbox_events(database, "card.print_request", card.card_id)) == 1


def test_the_photo_is_fetched_once_with_a_service_token_and_kept_sealed_as_is_the_id_number(
    printing, files
):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    submitted = application.submitted()
    fetches_before = files.fetches
    assert handle_one_by_one(settings, deps, HANDLERS, submitted, submitted) == [
        "handled",
        "duplicate",
    ]
    assert files.fetches == fetches_before + 1
    with database.session_factory() as session:
        stored = session.get(
            Applicant, application.application_id, options=[undefer(Applicant.photo)]
        )
        assert ID_NUMBER not in stored.id_number_encrypted
        assert stored.id_number_masked == "110105********002X"
        assert deps.cipher.decrypt(stored.id_number_encrypted, column="applicants.id_number")
        # The photo is sealed at rest, bound to this applicant: nothing of the JPEG shows.
        assert application.photo[:64] not in stored.photo and b"JFIF" not in stored.photo
        name = f"applicants/{application.application_id}/photo"
        assert deps.photo_cipher.open(stored.photo, name=name) == application.photo
        with pytest.raises(InvalidTag):
            deps.photo_cipher.open(stored.photo, name="applicants/someone-else/photo")


def test_an_approval_before_the_applicant_data_is_retried_until_it_is_there(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    approved = application.approved()
    assert handle(settings, deps, HANDLERS, approved) == ["retry"]
    assert cards_of(database, application.application_id) == []
    assert handle_one_by_one(settings, deps, HANDLERS, application.submitted(), approved) == [
        "handled",
        "handled",
    ]
    assert len(cards_of(database, application.application_id)) == 1


def test_an_application_cancelled_before_approval_never_gets_a_card(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    cancelled = application.cancelled()
    outcomes = handle_one_by_one(
        settings,
        deps,
        HANDLERS,
        application.submitted(),
        cancelled,
        cancelled,
        application.cancelled(),  # cancelled again, as another event
        application.approved(),
    )
    assert outcomes == ["handled", "handled", "duplicate", "handled", "handled"]
    assert cards_of(database, application.application_id) == []
    with database.session_factory() as session:
        assert session.get(Applicant, application.application_id) is None  # data deleted


def test_a_cancellation_that_overtakes_the_submission_still_wins(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    fetches_before = files.fetches
    handle_one_by_one(
        settings,
        deps,
        HANDLERS,
        application.cancelled(),
        application.submitted(),
        application.approved(),
    )
    assert cards_of(database, application.application_id) == []
    assert files.fetches == fetches_before


def test_a_photo_that_does_not_match_its_claim_is_parked(printing, files):
    settings, deps = printing
    application = Application(files)
    submitted = application.submitted()
    files.files[submitted.data["files"]["photo"]["sha256"]] = b"someone else's photo"
    assert handle(settings, deps, HANDLERS, submitted) == ["dead_letter"]


def closure(database, application_id: str) -> ClosedApplication | None:
    with database.session_factory() as session:
        return session.get(ClosedApplication, application_id)


def applicant(database, application_id: str) -> Applicant | None:
    with database.session_factory() as session:
        return session.get(Applicant, application_id)


def test_a_rejected_application_s_data_is_deleted_and_a_repeat_changes_nothing(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    rejected = application.rejected()
    assert handle_one_by_one(settings, deps, HANDLERS, application.submitted()) == ["handled"]
    assert applicant(database, application.application_id) is not None

    assert handle_one_by_one(settings, deps, HANDLERS, rejected) == ["handled"]
    assert applicant(database, application.application_id) is None  # data deleted
    first = closure(database, application.application_id)
    assert first.outcome == "rejected"

    outcomes = handle_one_by_one(
        settings,
        deps,
        HANDLERS,
        rejected,
        application.rejected(),  # rejected again, as another event
        application.cancelled(),  # and cancelled: the first outcome stays
    )
    assert outcomes == ["duplicate", "handled", "handled"]
    again = closure(database, application.application_id)
    assert (again.outcome, again.closed_at) == ("rejected", first.closed_at)
    assert cards_of(database, application.application_id) == []


def test_a_rejection_that_overtakes_the_submission_still_wins(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    fetches_before = files.fetches
    outcomes = handle_one_by_one(
        settings, deps, HANDLERS, application.rejected(), application.submitted()
    )
    assert outcomes == ["handled", "handled"]
    assert applicant(database, application.application_id) is None
    assert files.fetches == fetches_before  # the photo was not even fetched
    assert closure(database, application.application_id).outcome == "rejected"


def test_an_approval_after_a_rejection_prints_nothing_and_is_logged(printing, files, caplog):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    handle_one_by_one(settings, deps, HANDLERS, application.submitted(), application.rejected())

    with caplog.at_level(logging.INFO, logger="services.printing.use_cases.cards"):
        # Against verification's rules: it decides once.
        outcomes = handle_one_by_one(settings, deps, HANDLERS, application.approved())

    assert outcomes == ["handled"]
    assert cards_of(database, application.application_id) == []
    assert [
        event
        for event in outbox_events(database, "card.print_request")
        if event["data"]["application_id"] == application.application_id
    ] == []
    [record] = [r for r in caplog.records if application.application_id in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "was rejected; no card" in record.getMessage()


def test_a_rejection_after_the_card_was_ordered_changes_nothing(printing, files):
    settings, deps = printing
    database = deps.database
    application = Application(files)
    handle_one_by_one(settings, deps, HANDLERS, application.submitted(), application.approved())

    assert handle_one_by_one(settings, deps, HANDLERS, application.rejected()) == ["handled"]

    assert len(cards_of(database, application.application_id)) == 1
    assert applicant(database, application.application_id) is not None
    assert closure(database, application.application_id) is None
