"""The card after activation on an in-memory database: loss, unblock, replacement and
cancellation with their events and signed bank commands, the banks' confirmations (repeated
and out of order), one live card a person, and the electronic card."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from services.printing.dao import dao_delete_photos, dao_list_bank_commands
from services.printing.domain import actors, ecard
from services.printing.domain.lifecycle import (
    CancellationReason,
    CardStatus,
    ReplacementReason,
)
from services.printing.domain.reports import StatusReport, bank_source
from services.printing.models import Card
from services.printing.use_cases.after_activation import (
    NEW_PHOTO_REQUIRED,
    cancel_card,
    my_cards,
    record_bank_confirmation,
    replace_card,
    report_card_lost,
    unblock_card,
)
from services.printing.use_cases.card_reports import record_bank_report
from services.printing.use_cases.ecard import issue_ecard, verify_ecard
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, InvalidInput, NotFound, PermanentMessageError
from shared.time import utcnow
from tests.printing.unit import test_use_cases as base
from tests.printing.unit.test_use_cases import OUTLET, kept, run

deps = pytest.fixture(base.deps.__wrapped__, name="deps")

OPERATOR = actors.bank_operator("op-1", "ICBC")
OTHER_BANK = actors.bank_operator("op-2", "CCB")
ADMIN = actors.admin("admin-1")


def activated(deps) -> Card:
    from services.printing.use_cases.cards import order_card

    application = kept(deps)
    card, _ = run(deps, order_card, deps, application_id=application.application_id)
    for status in ("printed", "shipped", "ready_for_pickup", "collected", "activated"):
        report = StatusReport(status, bank_source("ICBC"), card.created_at)
        run(deps, record_bank_report, bank_code="ICBC", card_id=card.card_id, report=report)
    return card


def holder_of(card: Card) -> actors.Actor:
    return actors.holder(card.account_id)


def status_of(deps, card_id: str) -> str:
    with deps.database.session_factory() as session:
        return session.get(Card, card_id).status


def types(events) -> list[str]:
    return [event_type for event_type, _ in events]


def test_the_holder_reports_the_card_lost_and_the_bank_is_told_signed(deps):
    card = activated(deps)
    details, events = run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder_of(card))
    assert details.card.status == CardStatus.LOST
    assert types(events) == ["card.reported_lost", "card.block_request"]
    lost, command = events[0][1], events[1][1]
    assert lost.data["reported_by"] == "holder"
    assert command.data["card_serial"] == card.card_serial
    assert command.extensions["signaturekeyid"] == "test-print-key"
    assert [c.command for c in details.commands] == ["card.block_request"]
    assert details.commands[0].command_id == command.id
    # Reporting it again changes nothing.
    again, events = run(deps, report_card_lost, deps, card_id=card.card_id, actor=OPERATOR)
    assert (again.card.status, events) == (CardStatus.LOST, [])


def test_nobody_reports_another_persons_or_another_banks_card(deps):
    card = activated(deps)
    for stranger in (actors.holder(str(uuid.uuid4())), OTHER_BANK):
        with pytest.raises(NotFound):
            run(deps, report_card_lost, deps, card_id=card.card_id, actor=stranger)
    with pytest.raises(NotFound):
        run(deps, unblock_card, deps, card_id=card.card_id, actor=OTHER_BANK, outlet_id=OUTLET)
    assert status_of(deps, card.card_id) == CardStatus.ACTIVATED


def test_a_card_not_yet_activated_cannot_be_reported_lost(deps):
    from services.printing.use_cases.cards import order_card

    application = kept(deps)
    card, _ = run(deps, order_card, deps, application_id=application.application_id)
    with pytest.raises(Conflict):
        run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder_of(card))


def test_unblock_at_a_counter_of_the_cards_bank(deps):
    card = activated(deps)
    with pytest.raises(Conflict):  # not blocked
        run(deps, unblock_card, deps, card_id=card.card_id, actor=OPERATOR, outlet_id=OUTLET)
    run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder_of(card))
    with pytest.raises(InvalidInput):
        run(
            deps,
            unblock_card,
            deps,
            card_id=card.card_id,
            actor=OPERATOR,
            outlet_id=str(uuid.uuid4()),
        )
    details, events = run(
        deps, unblock_card, deps, card_id=card.card_id, actor=OPERATOR, outlet_id=OUTLET
    )
    assert details.card.status == CardStatus.ACTIVATED
    assert types(events) == ["card.unblocked", "card.unblock_request"]
    last = details.history[-1]
    assert (last.status, last.source, last.outlet_id) == ("activated", "operator:op-1", OUTLET)
    assert events[1][1].data["outlet_id"] == OUTLET


def test_a_lost_card_is_replaced_by_a_new_card_and_only_one_is_live(deps):
    card = activated(deps)
    old_serial = card.card_serial
    run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder_of(card))
    new, events = run(
        deps,
        replace_card,
        deps,
        card_id=card.card_id,
        actor=holder_of(card),
        reason=ReplacementReason.LOST,
    )
    assert types(events) == [
        "card.replaced",
        "card.cancel_request",
        "card.print_request",
        "card.print_requested",
    ]
    assert new.card.status == CardStatus.PRINT_REQUESTED
    assert new.card.card_serial != old_serial and new.card.replaces_card_id == card.card_id
    assert new.card.account_id == card.account_id
    assert events[2][1].data["social_security_number"] == "11010519491231002X"
    assert events[3][1].data["replaces_card_id"] == card.card_id
    assert status_of(deps, card.card_id) == CardStatus.REPLACED
    with deps.database.session_factory() as session:
        mine = my_cards(session, account_id=card.account_id)
        assert [d.card.card_id for d in mine] == [new.card.card_id, card.card_id]
        assert mine[1].card.replaced_by_card_id == new.card.card_id
    # Replaced once: not again; and nothing more can happen to the old card.
    with pytest.raises(Conflict):
        run(
            deps,
            replace_card,
            deps,
            card_id=card.card_id,
            actor=OPERATOR,
            reason=ReplacementReason.LOST,
        )
    with pytest.raises(Conflict):
        run(deps, unblock_card, deps, card_id=card.card_id, actor=OPERATOR, outlet_id=OUTLET)


def test_the_database_refuses_a_second_live_card_of_one_application(deps):
    card = activated(deps)
    with UnitOfWork(deps.database, "printing") as uow:
        twin = {
            column: getattr(card, column)
            for column in ("application_id", "account_id", "bank_code", "outlet_id")
        }
        uow.session.add(
            Card(
                card_id=str(uuid.uuid4()),
                card_serial="A00000001",
                card_identification_code="X" * 32,
                status="print_requested",
                issue_date=card.issue_date,
                expiry_date=card.expiry_date,
                replaces_card_id=card.card_id,
                **twin,
            )
        )
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_an_activated_card_is_replaced_only_when_damaged(deps):
    card = activated(deps)
    with pytest.raises(Conflict):
        run(
            deps,
            replace_card,
            deps,
            card_id=card.card_id,
            actor=holder_of(card),
            reason=ReplacementReason.LOST,
        )
    new, _ = run(
        deps,
        replace_card,
        deps,
        card_id=card.card_id,
        actor=OPERATOR,
        reason=ReplacementReason.DAMAGED,
    )
    assert new.card.outlet_id == OUTLET
    assert status_of(deps, card.card_id) == CardStatus.REPLACED


def test_a_replacement_without_the_photo_kept_needs_a_new_one(deps):
    card = activated(deps)
    with UnitOfWork(deps.database, "printing") as uow:
        dao_delete_photos(uow.session, [card.application_id], utcnow())
        uow.commit()
    run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder_of(card))
    with pytest.raises(Conflict) as refused:
        run(
            deps,
            replace_card,
            deps,
            card_id=card.card_id,
            actor=holder_of(card),
            reason=ReplacementReason.LOST,
        )
    assert refused.value.extra["code"] == NEW_PHOTO_REQUIRED
    assert status_of(deps, card.card_id) == CardStatus.LOST


def test_an_admin_cancels_a_live_card_with_a_reason(deps):
    card = activated(deps)
    with pytest.raises(NotFound):
        run(
            deps,
            cancel_card,
            deps,
            card_id=str(uuid.uuid4()),
            actor=ADMIN,
            reason=CancellationReason.DEATH,
        )
    details, events = run(
        deps, cancel_card, deps, card_id=card.card_id, actor=ADMIN, reason=CancellationReason.DEATH
    )
    assert details.card.status == CardStatus.CANCELLED and details.card.reason == "death"
    assert types(events) == ["card.cancelled", "card.cancel_request"]
    assert events[0][1].data["cancellation_reason"] == "death"
    _, events = run(
        deps, cancel_card, deps, card_id=card.card_id, actor=ADMIN, reason=CancellationReason.DEATH
    )
    assert events == []
    for action in (report_card_lost,):
        with pytest.raises(Conflict):
            run(deps, action, deps, card_id=card.card_id, actor=holder_of(card))


def _commands(deps, card_id):
    with deps.database.session_factory() as session:
        return [
            (c.command, c.confirmed_at is not None)
            for c in dao_list_bank_commands(session, card_id)
        ]


def test_bank_confirmations_are_recorded_once_in_any_order(deps):
    card = activated(deps)
    holder = holder_of(card)
    _, lost = run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder)
    _, unblocked = run(
        deps, unblock_card, deps, card_id=card.card_id, actor=OPERATOR, outlet_id=OUTLET
    )
    block_id, unblock_id = lost[1][1].id, unblocked[1][1].id

    def confirm(status, command_id, bank="ICBC", card_id=card.card_id):
        return run(
            deps,
            record_bank_confirmation,
            bank_code=bank,
            card_id=card_id,
            status=status,
            command_id=command_id,
        )[0]

    # The unblock's confirmation overtakes the block's; each is recorded, the card stays put.
    assert confirm("unblocked", unblock_id) is True
    assert confirm("blocked", block_id) is True
    assert confirm("blocked", block_id) is False  # a duplicate
    assert confirm("unblocked", unblock_id) is False
    assert _commands(deps, card.card_id) == [
        ("card.block_request", True),
        ("card.unblock_request", True),
    ]
    assert status_of(deps, card.card_id) == CardStatus.ACTIVATED
    # Confirming what was not sent, to whom it was not sent, or as something else: refused.
    for refused in [
        ("cancelled", block_id, "ICBC", card.card_id),
        ("blocked", block_id, "CCB", card.card_id),
        ("blocked", block_id, "ICBC", str(uuid.uuid4())),
        ("blocked", str(uuid.uuid4()), "ICBC", card.card_id),
        ("blocked", None, "ICBC", card.card_id),
    ]:
        with pytest.raises(PermanentMessageError):
            confirm(*refused)


def test_bank_reports_after_the_main_line(deps):
    card = activated(deps)
    run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder_of(card))

    def report(status):
        report = StatusReport(status, bank_source("ICBC"), card.created_at)
        return run(deps, record_bank_report, bank_code="ICBC", card_id=card.card_id, report=report)

    assert report("ready_for_pickup") == (False, [])  # late, long passed
    assert report("activated") == (False, [])
    with pytest.raises(Conflict):
        report("print_failed")
    run(deps, cancel_card, deps, card_id=card.card_id, actor=ADMIN, reason="emigration")
    with pytest.raises(Conflict):
        report("activated")
    assert status_of(deps, card.card_id) == CardStatus.CANCELLED


# -- the electronic card ------------------------------------------------------------------------


def _verify(deps, payload, now):
    with deps.database.session_factory() as session:
        return verify_ecard(session, deps, payload=payload, now=now)


def _issue(deps, card, now=1_800_000_000):
    with deps.database.session_factory() as session:
        return issue_ecard(session, deps, card_id=card.card_id, holder_id=card.account_id, now=now)


def test_the_ecard_payload_verifies_with_the_published_key_alone(deps):
    card = activated(deps)
    issued = _issue(deps, card)
    assert issued.expires_at - issued.issued_at == 60
    keys = {k.kid: k.public_key for k in deps.ecard_keys.verification_keys()}
    claims = ecard.read(issued.payload, keys, now=issued.issued_at + 59)
    assert claims["sub"] == card.card_id and claims["card_serial"] == card.card_serial
    assert claims["ssn_masked"] == "110105********002X"
    assert _verify(deps, issued.payload, issued.issued_at + 1)["valid"] is True


def test_a_tampered_expired_or_foreign_payload_fails(deps):
    card = activated(deps)
    issued = _issue(deps, card)
    header, claims, signature = issued.payload.split(".")
    body = json.loads(ecard.unb64url(claims))
    body["card_serial"] = "Z99999999"
    forged = ".".join([header, ecard.b64url(json.dumps(body).encode()), signature])
    raw = bytearray(ecard.unb64url(signature))
    raw[0] ^= 1
    flipped = ".".join([header, claims, ecard.b64url(bytes(raw))])
    now = issued.issued_at + 1
    assert _verify(deps, forged, now) == {"valid": False, "reason": "bad_signature"}
    assert _verify(deps, flipped, now) == {"valid": False, "reason": "bad_signature"}
    assert _verify(deps, issued.payload, issued.expires_at) == {"valid": False, "reason": "expired"}
    assert _verify(deps, "not.a-payload", now)["reason"] == "malformed"
    other = ecard.issue(
        type("Other", (), {"kid": "test-ecard-key", "sign": lambda self, b: b"\0" * 64})(),
        ecard.CardFace(card.card_id, card.card_serial, "x", "y", "z"),
        now=now,
    )
    assert _verify(deps, other, now)["reason"] == "bad_signature"


def test_a_lost_cards_payload_fails_at_once_and_none_is_issued(deps):
    card = activated(deps)
    issued = _issue(deps, card)
    run(deps, report_card_lost, deps, card_id=card.card_id, actor=holder_of(card))
    result = _verify(deps, issued.payload, issued.issued_at + 1)
    assert result == {"valid": False, "reason": "card_not_active", "card_status": "lost"}
    with pytest.raises(Conflict):
        _issue(deps, card)
    with deps.database.session_factory() as session, pytest.raises(NotFound):
        issue_ecard(session, deps, card_id=card.card_id, holder_id=str(uuid.uuid4()))


# -- expiry notices -----------------------------------------------------------------------------


def test_expiry_notices_90_and_30_days_ahead_once_each(deps):
    from datetime import timedelta

    from services.printing.use_cases.expiry import notify_expiring_cards

    card = activated(deps)
    expiry = card.expiry_date

    def notices_on(day):
        _, events = run(deps, notify_expiring_cards, today=day)
        return [(e.data["card_id"], e.data["days_ahead"]) for t, e in events if t.endswith("ing")]

    assert notices_on(expiry - timedelta(days=91)) == []
    assert notices_on(expiry - timedelta(days=90)) == [(card.card_id, 90)]
    assert notices_on(expiry - timedelta(days=89)) == []  # once per threshold
    assert notices_on(expiry - timedelta(days=30)) == [(card.card_id, 30)]
    assert notices_on(expiry - timedelta(days=29)) == []
    # A card already inside the 30 days when first seen hears only the 30-day notice.
    other = activated(deps)
    assert notices_on(other.expiry_date - timedelta(days=10)) == [(other.card_id, 30)]
    # A cancelled card hears nothing.
    third = activated(deps)
    run(deps, cancel_card, deps, card_id=third.card_id, actor=ADMIN, reason="death")
    noticed = notices_on(third.expiry_date - timedelta(days=90))
    assert third.card_id not in {card_id for card_id, _ in noticed}
