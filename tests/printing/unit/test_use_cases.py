"""The printing service's commands on an in-memory database with fake adapters: what each one
stores and which events it adds to the outbox. No broker, no server, no network."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from services.printing.dao import (
    dao_get_applicant,
    dao_get_closed_application,
)
from services.printing.domain.applicants import ClosedOutcome
from services.printing.domain.banks import OutletFields
from services.printing.domain.lifecycle import CardStatus
from services.printing.domain.reports import (
    ImpossibleTransition,
    NotYetPossible,
    StatusReport,
    bank_source,
)
from services.printing.use_cases.applicants import (
    Submission,
    forget_application_without_card,
    keep_applicant,
)
from services.printing.use_cases.card_reports import record_bank_report, report_card_status
from services.printing.use_cases.cards import order_card, reprint_card
from services.printing.use_cases.outlets import create_outlet, put_partner_bank
from services.printing.use_cases.seed import read_seed_file, seed_banks_and_outlets
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, NotFound, PermanentMessageError, TransientError
from tests.printing.factories import ID_NUMBER, memory_deps

OUTLET = "d93b57ed-c814-56a3-8ea1-245377fd863d"
PHOTO = b"\xff\xd8 a photo of the applicant"


@pytest.fixture
def deps():
    deps = memory_deps()
    with UnitOfWork(deps.database, "printing") as uow:
        put_partner_bank(uow, deps, bank_code="ICBC", name="中国工商银行")
        fields = OutletFields("ICBC", "工行西城支行", "西城区", "金融大街1号")
        create_outlet(uow, fields=fields, outlet_id=OUTLET)
        uow.commit()
    yield deps
    deps.database.dispose()


def run(deps, use_case, *args, **kwargs):
    """The use case in a unit of work of its own, committed; (result, events it added)."""
    with UnitOfWork(deps.database, "printing") as uow:
        result = use_case(uow, *args, **kwargs)
        uow.commit()
        return result, [(event.type, event) for event in uow.events]


def submission(deps, application_id: str | None = None) -> Submission:
    return Submission(
        application_id=application_id or str(uuid.uuid4()),
        account_id=str(uuid.uuid4()),
        acceptance_number="SS0001",
        outlet_id=OUTLET,
        bank_code="ICBC",
        name="张秀英",
        gender="female",
        ethnicity="汉族",
        birth_date="1949-12-31",
        id_number=ID_NUMBER.lower(),
        photo=deps.application_files.add(PHOTO),
    )


def kept(deps, **fields) -> Submission:
    kept = submission(deps, **fields)
    assert run(deps, keep_applicant, deps, submission=kept, event_id="e-1")[0] is True
    return kept


def ordered(deps):
    application = kept(deps)
    card, _ = run(deps, order_card, deps, application_id=application.application_id)
    return card


def bank_report(status: str, *, card_serial: str | None = None) -> StatusReport:
    occurred = datetime(2026, 11, 25, 10, tzinfo=UTC)
    return StatusReport(status, bank_source("ICBC"), occurred, card_serial=card_serial)


def test_the_applicant_is_kept_sealed_and_once(deps):
    application = kept(deps)
    again, events = run(deps, keep_applicant, deps, submission=application, event_id="e-2")
    assert (again, events) == (False, [])
    assert deps.application_files.fetches == 1
    with deps.database.session_factory() as session:
        stored = dao_get_applicant(session, application.application_id, with_photo=True)
        assert stored.id_number_masked == "110105********002X"
        assert ID_NUMBER not in stored.id_number_encrypted and PHOTO not in stored.photo
        name = f"applicants/{application.application_id}/photo"
        assert deps.photo_cipher.open(stored.photo, name=name) == PHOTO


def test_an_approved_application_gets_one_card_and_a_signed_print_message(deps):
    application = kept(deps)
    card, events = run(deps, order_card, deps, application_id=application.application_id)
    assert card.status == CardStatus.PRINT_REQUESTED and card.print_count == 1
    assert card.card_identification_code.startswith("110105D156")
    assert [event_type for event_type, _ in events] == [
        "card.print_request",
        "card.print_requested",
    ]
    message = events[0][1]
    assert message.data["social_security_number"] == ID_NUMBER
    assert message.extensions["signaturekeyid"] == "test-print-key"
    assert events[1][1].data["reprint"] is False

    assert run(deps, order_card, deps, application_id=application.application_id) == (None, [])


def test_an_approval_before_the_submission_is_retried_and_an_unknown_bank_is_parked(deps):
    with pytest.raises(TransientError):
        run(deps, order_card, deps, application_id=str(uuid.uuid4()))
    stray = replace(submission(deps), bank_code="NOPE")
    run(deps, keep_applicant, deps, submission=stray, event_id="e-3")
    with pytest.raises(PermanentMessageError):
        run(deps, order_card, deps, application_id=stray.application_id)


def test_a_cancelled_application_is_forgotten_and_never_gets_a_card(deps):
    application = kept(deps)
    outcome = ClosedOutcome.CANCELLED
    run(
        deps,
        forget_application_without_card,
        application_id=application.application_id,
        outcome=outcome,
    )
    run(
        deps,
        forget_application_without_card,
        application_id=application.application_id,
        outcome=ClosedOutcome.REJECTED,
    )
    with deps.database.session_factory() as session:
        assert dao_get_applicant(session, application.application_id) is None
        assert (
            dao_get_closed_application(session, application.application_id).outcome == "cancelled"
        )
    assert run(deps, order_card, deps, application_id=application.application_id) == (None, [])
    late, _ = run(deps, keep_applicant, deps, submission=application, event_id="e-late")
    assert late is False and deps.application_files.fetches == 1


def test_bank_reports_move_the_card_step_by_step_and_a_repeat_changes_nothing(deps):
    card = ordered(deps)
    moved, events = run(
        deps,
        record_bank_report,
        bank_code="ICBC",
        card_id=card.card_id,
        report=bank_report("printed"),
    )
    assert moved is True
    [(event_type, event)] = events
    assert event_type == "card.printed" and event.data["card_serial"] == card.card_serial
    assert run(
        deps,
        record_bank_report,
        bank_code="ICBC",
        card_id=card.card_id,
        report=bank_report("printed"),
    ) == (False, [])
    with pytest.raises(NotYetPossible):
        run(
            deps,
            record_bank_report,
            bank_code="ICBC",
            card_id=card.card_id,
            report=bank_report("collected"),
        )
    with pytest.raises(ImpossibleTransition):
        run(
            deps,
            record_bank_report,
            bank_code="ICBC",
            card_id=card.card_id,
            report=bank_report("print_failed"),
        )
    with pytest.raises(PermanentMessageError, match="bank CCB has no card"):
        run(
            deps,
            record_bank_report,
            bank_code="CCB",
            card_id=card.card_id,
            report=bank_report("shipped"),
        )


def test_another_banks_operator_cannot_find_the_card(deps):
    card = ordered(deps)
    with pytest.raises(NotFound):
        run(
            deps,
            report_card_status,
            card_id=card.card_id,
            visible_to_bank="CCB",
            report=bank_report("printed"),
        )
    details, _ = run(
        deps,
        report_card_status,
        card_id=card.card_id,
        visible_to_bank="ICBC",
        report=bank_report("printed"),
    )
    assert [entry.status for entry in details.history] == ["print_requested", "printed"]


def test_a_failed_print_is_printed_again_with_a_new_serial(deps):
    card = ordered(deps)
    with pytest.raises(Conflict):
        run(deps, reprint_card, deps, card_id=card.card_id)
    run(
        deps,
        record_bank_report,
        bank_code="ICBC",
        card_id=card.card_id,
        report=bank_report("print_failed"),
    )
    details, events = run(deps, reprint_card, deps, card_id=card.card_id)
    assert details.card.status == CardStatus.PRINT_REQUESTED and details.card.print_count == 2
    assert [serial.card_serial for serial in details.serials] == [
        card.card_serial,
        details.card.card_serial,
    ]
    assert details.card.card_serial != card.card_serial
    assert [event.data.get("reprint") for _, event in events] == [None, True]


def test_a_new_bank_gets_its_print_queue_and_a_rename_republishes_its_outlets(deps):
    assert deps.print_queues.declared == ["ICBC"]
    (_, created), events = run(deps, put_partner_bank, deps, bank_code="ICBC", name="工商银行")
    assert created is False and deps.print_queues.declared == ["ICBC"]
    [(event_type, event)] = events
    assert event_type == "outlet.upserted"
    assert (event.data["outlet_id"], event.data["bank_name"]) == (OUTLET, "工商银行")
    (_, created), events = run(deps, put_partner_bank, deps, bank_code="BOC", name="中国银行")
    assert created is True and deps.print_queues.declared == ["ICBC", "BOC"]


def test_seeding_twice_publishes_each_outlet_once(deps):
    banks = read_seed_file()
    first, events = run(deps, seed_banks_and_outlets, deps, banks=banks)
    assert first.outlets_published == first.outlets_total == len(events)
    assert first.banks_created == len(banks) - 1  # ICBC was there already
    again, events = run(deps, seed_banks_and_outlets, deps, banks=banks)
    assert (again.banks_created, again.outlets_published, events) == (0, 0, [])
    with deps.database.session_factory() as session:
        table = deps.database.outbox.table
        assert session.scalar(select(func.count()).select_from(table)) >= first.outlets_total
