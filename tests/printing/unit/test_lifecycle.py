"""Which status reports move a card, repeat what it went through, or are impossible; and
what may happen to a card after its activation."""

from __future__ import annotations

import pytest

from services.printing.domain.lifecycle import (
    AFTER_ACTIVATION,
    FINAL,
    LIVE,
    MAIN_LINE,
    REPORTABLE,
    STATUSES,
    Action,
    CardStatus,
    ReplacementReason,
    Verdict,
    after,
    can_reprint,
    can_show_ecard,
    judge,
    next_status,
    replacement_allowed,
)


@pytest.mark.parametrize(
    ("current", "reported", "verdict"),
    [
        ("print_requested", "printed", Verdict.APPLY),
        ("print_requested", "print_failed", Verdict.APPLY),
        ("printed", "shipped", Verdict.APPLY),
        ("shipped", "ready_for_pickup", Verdict.APPLY),
        ("ready_for_pickup", "collected", Verdict.APPLY),
        ("collected", "activated", Verdict.APPLY),
        # the same report twice, or a late one about a step already passed
        ("printed", "printed", Verdict.REPEAT),
        ("print_failed", "print_failed", Verdict.REPEAT),
        ("shipped", "printed", Verdict.REPEAT),
        ("activated", "ready_for_pickup", Verdict.REPEAT),
        # skipping a step
        ("print_requested", "shipped", Verdict.AHEAD),
        ("printed", "collected", Verdict.AHEAD),
        ("shipped", "activated", Verdict.AHEAD),
        # contradictions
        ("printed", "print_failed", Verdict.IMPOSSIBLE),
        ("activated", "print_failed", Verdict.IMPOSSIBLE),
        ("print_failed", "printed", Verdict.IMPOSSIBLE),
        ("print_failed", "shipped", Verdict.IMPOSSIBLE),
        ("printed", "print_requested", Verdict.IMPOSSIBLE),  # not a bank's to report
        ("printed", "lost_in_the_post", Verdict.IMPOSSIBLE),
    ],
)
def test_verdicts(current, reported, verdict):
    assert judge(current, reported) is verdict


def test_every_reportable_status_is_reachable_from_print_requested_in_order():
    status = "print_requested"
    for following in MAIN_LINE[1:]:
        assert judge(status, following) is Verdict.APPLY
        status = following
    assert set(REPORTABLE) == {*MAIN_LINE[1:], "print_failed"}


def test_only_a_failed_print_can_be_reprinted():
    assert can_reprint("print_failed")
    assert not any(can_reprint(status) for status in MAIN_LINE)


# -- the card after activation ------------------------------------------------------------------


ALLOWED = [
    (Action.REPORT_LOSS, "activated", "lost"),
    (Action.UNBLOCK, "lost", "activated"),
    (Action.REPLACE, "lost", "replaced"),
    (Action.REPLACE, "activated", "replaced"),
    *[(Action.CANCEL, status, "cancelled") for status in LIVE],
]


@pytest.mark.parametrize(("action", "current", "following"), ALLOWED)
def test_allowed_after_activation(action, current, following):
    assert after(action, current) is Verdict.APPLY
    assert next_status(action, current) == following


@pytest.mark.parametrize(
    ("action", "current"),
    [
        (action, status)
        for action in Action
        for status in STATUSES
        if (action, status) not in AFTER_ACTIVATION
        and (action, status) not in {(Action.REPORT_LOSS, "lost"), (Action.CANCEL, "cancelled")}
    ],
)
def test_everything_else_is_refused(action, current):
    assert after(action, current) is Verdict.IMPOSSIBLE


def test_the_refusals_include_the_obvious_ones():
    for action, current in [
        (Action.REPORT_LOSS, "shipped"),  # not yet the holder's
        (Action.REPORT_LOSS, "replaced"),
        (Action.REPORT_LOSS, "cancelled"),
        (Action.UNBLOCK, "activated"),  # not blocked
        (Action.UNBLOCK, "cancelled"),
        (Action.REPLACE, "replaced"),  # replaced once already
        (Action.REPLACE, "cancelled"),
        (Action.REPLACE, "ready_for_pickup"),
        (Action.CANCEL, "replaced"),
    ]:
        assert after(action, current) is Verdict.IMPOSSIBLE, (action, current)


def test_asking_again_for_what_is_so_changes_nothing():
    assert after(Action.REPORT_LOSS, "lost") is Verdict.REPEAT
    assert after(Action.CANCEL, "cancelled") is Verdict.REPEAT
    assert after(Action.REPORT_LOSS, "no_such_status") is Verdict.IMPOSSIBLE


def test_replaced_and_cancelled_are_final_and_not_live():
    assert {CardStatus.REPLACED, CardStatus.CANCELLED} == FINAL
    assert set(LIVE) == set(STATUSES) - FINAL
    for action in Action:
        for status in FINAL:
            assert (action, status) not in AFTER_ACTIVATION


def test_an_activated_card_is_replaced_only_when_damaged():
    assert replacement_allowed("activated", ReplacementReason.DAMAGED)
    assert not replacement_allowed("activated", ReplacementReason.LOST)
    assert replacement_allowed("lost", ReplacementReason.LOST)
    assert replacement_allowed("lost", ReplacementReason.DAMAGED)
    assert not replacement_allowed("replaced", ReplacementReason.DAMAGED)


@pytest.mark.parametrize(
    ("current", "reported", "verdict"),
    [
        # a late report about a step a lost card went through long ago
        ("lost", "ready_for_pickup", Verdict.REPEAT),
        ("lost", "activated", Verdict.REPEAT),
        ("lost", "print_failed", Verdict.IMPOSSIBLE),
        # an ended card is not brought back by a bank's report
        ("cancelled", "shipped", Verdict.IMPOSSIBLE),
        ("cancelled", "activated", Verdict.IMPOSSIBLE),
        ("replaced", "activated", Verdict.IMPOSSIBLE),
    ],
)
def test_bank_reports_about_cards_after_the_main_line(current, reported, verdict):
    assert judge(current, reported) is verdict


def test_only_an_activated_unblocked_card_has_an_electronic_card():
    assert can_show_ecard("activated")
    assert not any(can_show_ecard(status) for status in STATUSES if status != "activated")
