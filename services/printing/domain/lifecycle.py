"""Which status reports move a card, which repeat what it already went through, and which are
impossible.

The main line is print_requested → printed → shipped → ready_for_pickup → collected →
activated; print_failed branches off print_requested and leads back to print_requested only
through a reprint (an administrator's decision, not a bank report).
"""

from __future__ import annotations

from enum import Enum, StrEnum

from shared.events import BANK_REPORTED_STATUSES


class CardStatus(StrEnum):
    """A card's status (cards.status, card_history.status, the `card.<status>` events)."""

    PRINT_REQUESTED = "print_requested"
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    ACTIVATED = "activated"


MAIN_LINE = (
    CardStatus.PRINT_REQUESTED,
    CardStatus.PRINTED,
    CardStatus.SHIPPED,
    CardStatus.READY_FOR_PICKUP,
    CardStatus.COLLECTED,
    CardStatus.ACTIVATED,
)
STATUSES = (*MAIN_LINE, CardStatus.PRINT_FAILED)
# What a bank (over AMQP) or a bank operator (over REST) may report: the contract's list.
REPORTABLE = BANK_REPORTED_STATUSES


class Verdict(Enum):
    APPLY = "apply"
    # The card is already there or past it: a retried or duplicated report, changes nothing.
    REPEAT = "repeat"
    # Further along the main line than the next step: reports may arrive out of order on a
    # queue (the earlier one is waiting for a retry); over REST it is simply not possible yet.
    AHEAD = "ahead"
    IMPOSSIBLE = "impossible"


def judge(current: str, reported: str) -> Verdict:
    """The verdict on `reported` for a card whose status is `current`."""
    if current not in STATUSES or reported not in REPORTABLE:
        return Verdict.IMPOSSIBLE
    if reported == current:
        return Verdict.REPEAT
    if reported == CardStatus.PRINT_FAILED:
        if current == CardStatus.PRINT_REQUESTED:
            return Verdict.APPLY
        return Verdict.IMPOSSIBLE
    if current == CardStatus.PRINT_FAILED:
        # Only a reprint leaves print_failed; the bank said it could not print this run.
        return Verdict.IMPOSSIBLE
    here, there = MAIN_LINE.index(current), MAIN_LINE.index(reported)
    if there < here:
        return Verdict.REPEAT
    return Verdict.APPLY if there == here + 1 else Verdict.AHEAD


def can_reprint(current: str) -> bool:
    return current == CardStatus.PRINT_FAILED
