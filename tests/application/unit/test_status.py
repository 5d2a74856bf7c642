"""The status machine: forward only (one exception), and the same result whatever order,
lateness or duplication the events arrive with."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.application.domain.status import (
    CANCELLABLE,
    ENDED_WITHOUT_CARD,
    EVENT_STATUS,
    ORDER,
    RANK,
    TRANSITIONS,
    Status,
    StatusState,
    can_move,
    is_open,
    next_state,
)

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def replay(facts, start: Status = Status.SUBMITTED) -> StatusState:
    state = StatusState(start, T0)
    for status, moment in facts:
        state = next_state(state, status, moment)
    return state


def test_the_order_is_the_contracts():
    assert [s.value for s in ORDER] == [
        "draft",
        "submitted",
        "verifying",
        "review_required",
        "approved",
        "rejected",
        "print_requested",
        "printed",
        "print_failed",
        "shipped",
        "ready_for_pickup",
        "collected",
        "activated",
        "cancelled",
    ]


def test_every_transition_goes_forward_except_into_a_reprint():
    backwards = {
        (source, target)
        for source, targets in TRANSITIONS.items()
        for target in targets
        if RANK[target] <= RANK[source]
    }
    # print_failed → printed is the reprint whose print_requested report was overtaken.
    assert backwards == {
        (Status.PRINT_FAILED, Status.PRINT_REQUESTED),
        (Status.PRINT_FAILED, Status.PRINTED),
    }


def test_terminal_statuses_go_nowhere():
    for status in (Status.REJECTED, Status.ACTIVATED, Status.CANCELLED):
        assert TRANSITIONS[status] == frozenset()
        assert not is_open(status)


def test_images_are_deleted_only_for_applications_that_ended_for_good_without_a_card():
    # Deleting them is safe only because nothing can move such an application on again.
    assert {Status.REJECTED, Status.CANCELLED} == ENDED_WITHOUT_CARD
    for status in ENDED_WITHOUT_CARD:
        assert TRANSITIONS[status] == frozenset()
        assert not is_open(status)


def test_a_rejected_application_is_never_printed_and_a_printed_card_never_fails():
    assert not can_move(Status.REJECTED, Status.PRINT_REQUESTED)
    assert not can_move(Status.PRINTED, Status.PRINT_FAILED)
    assert not can_move(Status.APPROVED, Status.REVIEW_REQUIRED)


def test_cancelling_is_possible_until_sent_to_print():
    assert {Status.DRAFT, Status.SUBMITTED, Status.REVIEW_REQUIRED, Status.APPROVED} <= CANCELLABLE
    for status in CANCELLABLE:
        assert can_move(status, Status.CANCELLED)
    for status in (Status.PRINT_REQUESTED, Status.PRINT_FAILED, Status.SHIPPED, Status.REJECTED):
        assert status not in CANCELLABLE


HAPPY_PATH = [
    (Status.REVIEW_REQUIRED, at(1)),
    (Status.APPROVED, at(2)),
    (Status.PRINT_REQUESTED, at(3)),
    (Status.PRINTED, at(4)),
    (Status.SHIPPED, at(5)),
    (Status.READY_FOR_PICKUP, at(6)),
    (Status.COLLECTED, at(7)),
]


def test_any_arrival_order_ends_in_the_latest_status():
    for order in itertools.permutations(HAPPY_PATH):
        assert replay(order) == StatusState(Status.COLLECTED, at(7)), order


def test_duplicates_and_late_events_change_nothing():
    facts = [*HAPPY_PATH[:5], HAPPY_PATH[3], HAPPY_PATH[0], HAPPY_PATH[4], HAPPY_PATH[1]]
    state = replay(facts)
    assert state == StatusState(Status.SHIPPED, at(5))


def test_shipped_before_printed_is_shipped_and_stays_shipped():
    state = replay([(Status.PRINT_REQUESTED, at(3)), (Status.SHIPPED, at(5))])
    assert state.status is Status.SHIPPED
    assert next_state(state, Status.PRINTED, at(4)) == state


REPRINT = [
    (Status.PRINT_REQUESTED, at(3)),
    (Status.PRINT_FAILED, at(4)),
    (Status.PRINT_REQUESTED, at(5)),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_reprint_wins_over_the_failure_whatever_the_order(order):
    state = replay([(Status.APPROVED, at(2)), *[REPRINT[i] for i in order]])
    assert state == StatusState(Status.PRINT_REQUESTED, at(5))


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_a_reprinted_card_reaches_printed_whatever_the_order(order):
    facts = [*REPRINT, (Status.PRINTED, at(6))]
    assert replay([facts[i] for i in order]).status is Status.PRINTED


def test_the_first_print_request_arriving_after_the_failure_is_not_a_reprint():
    state = replay([(Status.PRINT_FAILED, at(4)), (Status.PRINT_REQUESTED, at(3))])
    assert state == StatusState(Status.PRINT_FAILED, at(4))


def test_verification_started_moves_a_submitted_application_to_verifying():
    assert EVENT_STATUS["verification.started"] is Status.VERIFYING
    assert replay([(Status.VERIFYING, at(1))]) == StatusState(Status.VERIFYING, at(1))
    outcome = replay([(Status.VERIFYING, at(1)), (Status.APPROVED, at(2))])
    assert outcome == StatusState(Status.APPROVED, at(2))


@pytest.mark.parametrize(
    "later",
    [
        Status.REVIEW_REQUIRED,
        Status.APPROVED,
        Status.REJECTED,
        Status.PRINT_REQUESTED,
        Status.SHIPPED,
        Status.ACTIVATED,
        Status.CANCELLED,
    ],
)
@pytest.mark.parametrize("started_minute", [1, 3])
def test_a_late_verification_start_never_moves_the_status_back(later, started_minute):
    """Whatever its time says: the table decides, not the clock."""
    state = replay([(later, at(2))])
    assert next_state(state, Status.VERIFYING, at(started_minute)) == state


def test_after_a_rejection_a_late_approval_or_review_changes_nothing():
    state = replay([(Status.REJECTED, at(3)), (Status.REVIEW_REQUIRED, at(1))])
    state = next_state(state, Status.APPROVED, at(2))
    assert state.status is Status.REJECTED


def test_a_cancelled_application_ignores_whatever_comes_later():
    state = replay([(Status.CANCELLED, at(1)), (Status.APPROVED, at(2))])
    assert state.status is Status.CANCELLED
