"""not_duplicate, enforced by the database: at most one active claim per ID number, taken in
the same transaction as an approval, released by a rejection or a cancellation, kept while
the card is on its way or live."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from services.verification import dao, models
from services.verification.domain.status import ClaimState
from shared.db.tables import new_id
from shared.messaging.consumer import ConsumerRunner, Outcome
from shared.testing.infrastructure import database_backend
from shared.time import utcnow
from tests.support import images
from tests.verification.factories import cancelled_event, card_event, delivery


def claim(verification, application_id: str) -> models.IdentityClaim | None:
    with verification.database.session_factory() as session:
        return dao.dao_get_claim(session, application_id)


def test_the_database_refuses_a_second_active_claim_for_one_person(verification):
    def add(session, application_id):
        session.add(
            models.IdentityClaim(
                id_number_index="same-person",
                application_id=application_id,
                case_id=new_id(),
                state=ClaimState.PENDING,
                active=True,
                created_at=utcnow(),
            )
        )

    with verification.database.session_factory() as session:
        add(session, new_id())
        session.commit()
        add(session, new_id())
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_second_application_for_an_approved_person_is_rejected(verification):
    entry = verification.applicant()
    first = verification.submitted(entry)
    second = verification.submitted(entry)

    verification.verify(first)
    verification.verify(second)

    assert verification.case(first.data["application_id"]).status == "approved"
    row = verification.checks(second.data["application_id"])["not_duplicate"]
    assert (row.outcome, row.codes) == ("fail", ["duplicate_application"])
    [rejected] = verification.outcome_events(second.data["application_id"])
    assert rejected["type"] == "verification.rejected"


@pytest.mark.skipif(
    database_backend() == "sqlite",
    reason="SQLite serialises writers (BEGIN IMMEDIATE), so two approvals cannot interleave",
)
def test_two_applications_racing_for_one_person_are_never_both_approved(verification, monkeypatch):
    entry = verification.applicant()
    events = [verification.submitted(entry) for _ in range(2)]
    # Both transactions have looked for an existing claim and found none before either
    # takes one: only the unique index can stop the second.
    both_checked = threading.Barrier(2, timeout=20)
    take_claim = dao.dao_take_claim

    def racing_take_claim(session, case):
        both_checked.wait()
        return take_claim(session, case)

    monkeypatch.setattr(dao, "dao_take_claim", racing_take_claim)
    settled = {}

    def consume(event):
        runner = ConsumerRunner(
            verification.settings, verification.database, verification.runner.handlers
        )
        [settled[event.id]] = runner.process_batch([delivery(event)])

    for event in events:
        verification.deliver(event)  # opens the case; the checks come with the started event
    started = [verification.started(event.data["application_id"]) for event in events]
    threads = [threading.Thread(target=consume, args=(event,)) for event in started]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert {item.outcome for item in settled.values()} == {Outcome.HANDLED}
    statuses = sorted(verification.case(e.data["application_id"]).status for e in events)
    assert statuses == ["approved", "rejected"]
    loser = next(
        e for e in events if verification.case(e.data["application_id"]).status == "rejected"
    )
    row = verification.checks(loser.data["application_id"])["not_duplicate"]
    assert (row.outcome, row.codes) == ("fail", ["duplicate_application"])
    types = sorted(e["type"] for e in verification.outcome_events())
    assert types == ["verification.approved", "verification.rejected"]


def test_a_rejected_application_holds_no_claim(verification):
    entry = verification.applicant()
    mismatch = verification.submitted(entry, id_card_front=images.id_card_front("biden"))
    verification.verify(mismatch)
    assert verification.case(mismatch.data["application_id"]).status == "rejected"
    assert claim(verification, mismatch.data["application_id"]) is None

    retry = verification.submitted(entry)
    verification.verify(retry)
    assert verification.case(retry.data["application_id"]).status == "approved"


def test_cancelling_releases_the_claim_and_leaves_the_queue(verification, api, token_authority):
    entry = verification.applicant()
    approved = verification.submitted(entry)
    verification.verify(approved)
    application_id = approved.data["application_id"]
    assert claim(verification, application_id).active

    cancel = cancelled_event(application_id, approved.data["account_id"])
    assert verification.deliver(cancel).outcome is Outcome.HANDLED
    assert verification.deliver(cancel).outcome is Outcome.DUPLICATE  # delivered twice

    assert not claim(verification, application_id).active
    assert verification.case(application_id).status == "cancelled"
    again = verification.submitted(entry)
    verification.verify(again)
    assert verification.case(again.data["application_id"]).status == "approved"


def test_a_cancelled_review_case_cannot_be_decided(verification, api, token_authority):
    event = verification.submitted(
        verification.applicant(), photo=images.card_photo("obama", face_width=150)
    )
    verification.verify(event)
    application_id = event.data["application_id"]
    verification.deliver(cancelled_event(application_id))
    case = verification.case(application_id)

    queue = api.get("/api/v1/reviews", headers=token_authority.reviewer()).get_json()["items"]
    response = api.post(
        f"/api/v1/reviews/{case.case_id}/decision",
        json={"decision": "approve"},
        headers=token_authority.reviewer(),
    )

    assert case.case_id not in [item["case_id"] for item in queue]
    assert response.status_code == 409


def test_a_cancellation_that_overtakes_its_submission_wins(verification):
    entry = verification.applicant()
    event = verification.submitted(entry)
    application_id = event.data["application_id"]

    verification.deliver(cancelled_event(application_id))
    assert verification.deliver(event).outcome is Outcome.HANDLED

    assert verification.case(application_id).status == "cancelled"
    assert verification.outcome_events(application_id) == []
    assert claim(verification, application_id) is None


CARD_STORIES = {
    "printed": (["card.print_requested", "card.printed"], "pending"),
    "print failed": (["card.print_requested", "card.print_failed"], "pending"),
    "at the outlet": (
        ["card.print_requested", "card.printed", "card.shipped", "card.ready_for_pickup"],
        "pending",
    ),
    "collected": (["card.printed", "card.collected"], "live"),
    "activated, then a late event": (["card.activated", "card.shipped"], "live"),
}


def test_the_card_lifecycle_keeps_the_person_claimed(verification):
    for story, (events, state) in CARD_STORIES.items():
        entry = verification.applicant()
        approved = verification.submitted(entry)
        verification.verify(approved)
        application_id = approved.data["application_id"]
        card_id = str(uuid.uuid4())

        for event_type in events:
            event = card_event(event_type, application_id, card_id)
            assert verification.deliver(event).outcome is Outcome.HANDLED, story
            assert verification.deliver(event).outcome is Outcome.DUPLICATE, story

        held = claim(verification, application_id)
        assert (held.active, held.state, held.card_id) == (True, state, card_id), story
        another = verification.submitted(entry)
        verification.verify(another)
        assert verification.case(another.data["application_id"]).status == "rejected", story


def test_card_events_for_unknown_applications_change_nothing(verification):
    event = card_event("card.activated", "4b0c8a55-1d47-4e83-9b53-2f0f7f3b6a11")
    assert verification.deliver(event).outcome is Outcome.HANDLED
    assert claim(verification, event.data["application_id"]) is None
