"""Which status reports move a card, repeat what it went through, or are impossible."""

from __future__ import annotations

import pytest

from services.printing.domain.lifecycle import (
    MAIN_LINE,
    REPORTABLE,
    Verdict,
    can_reprint,
    judge,
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
