"""Which status reports move a card, which repeat what it already went through, and which are
impossible; and what may happen to a card after its activation.

The main line is print_requested → printed → shipped → ready_for_pickup → collected →
activated; print_failed branches off print_requested and leads back to print_requested only
through a reprint (an administrator's decision, not a bank report).

After the main line (the card after activation): the holder or a bank operator reports an
activated card lost (blocked at once); a bank operator unblocks it with the holder present;
a lost or damaged card is replaced by a new card (the old one ends `replaced`); an
administrator cancels any live card (death, emigration, the holder's request). `replaced` and
`cancelled` are final. The explicit table is `AFTER_ACTIVATION`.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from shared.messaging.events import BANK_REPORTED_STATUSES


class CardStatus(StrEnum):
    """A card's status (cards.status, card_history.status, the `card.<status>` events)."""

    PRINT_REQUESTED = "print_requested"
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    ACTIVATED = "activated"
    # Reported lost: blocked, until unblocked or replaced.
    LOST = "lost"
    # A new card took its place (lost or damaged); final.
    REPLACED = "replaced"
    # Cancelled by an administrator (death, emigration, the holder's request); final.
    CANCELLED = "cancelled"


MAIN_LINE = (
    CardStatus.PRINT_REQUESTED,
    CardStatus.PRINTED,
    CardStatus.SHIPPED,
    CardStatus.READY_FOR_PICKUP,
    CardStatus.COLLECTED,
    CardStatus.ACTIVATED,
)
# Statuses a card only reaches from `activated` (or, for `cancelled`, from any live status).
AFTER_MAIN_LINE = (CardStatus.LOST, CardStatus.REPLACED, CardStatus.CANCELLED)
STATUSES = (*MAIN_LINE, CardStatus.PRINT_FAILED, *AFTER_MAIN_LINE)
# A card that ended: no report, command or payload ever moves it again.
FINAL = frozenset({CardStatus.REPLACED, CardStatus.CANCELLED})
# A live card holds its holder's one-person-one-card claim (at most one live card a person).
LIVE = tuple(status for status in STATUSES if status not in FINAL)
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
    if current == CardStatus.LOST:
        # Lost after its activation: every step of the main line lies behind it.
        return Verdict.IMPOSSIBLE if reported == CardStatus.PRINT_FAILED else Verdict.REPEAT
    if current in FINAL:
        # Ended, perhaps before it was activated: a bank's report cannot bring it back.
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


# -- the card after activation ----------------------------------------------------------------


class Action(StrEnum):
    """What a holder, a bank operator or an administrator may do to a card."""

    REPORT_LOSS = "report_loss"
    UNBLOCK = "unblock"
    REPLACE = "replace"
    CANCEL = "cancel"


class ReplacementReason(StrEnum):
    LOST = "lost"
    DAMAGED = "damaged"


class CancellationReason(StrEnum):
    DEATH = "death"
    EMIGRATION = "emigration"
    HOLDER_REQUEST = "holder_request"


# (action, current status) → the status it leaves the card in. Anything not here is refused.
AFTER_ACTIVATION: dict[tuple[Action, CardStatus], CardStatus] = {
    (Action.REPORT_LOSS, CardStatus.ACTIVATED): CardStatus.LOST,
    (Action.UNBLOCK, CardStatus.LOST): CardStatus.ACTIVATED,
    # A lost card, or an activated one that is damaged, is replaced by a new card.
    (Action.REPLACE, CardStatus.LOST): CardStatus.REPLACED,
    (Action.REPLACE, CardStatus.ACTIVATED): CardStatus.REPLACED,
    **{(Action.CANCEL, status): CardStatus.CANCELLED for status in LIVE},
}
# Asking again for what is already so changes nothing (a double click, a retried request).
REPEATS: frozenset[tuple[Action, CardStatus]] = frozenset(
    {
        (Action.REPORT_LOSS, CardStatus.LOST),
        (Action.CANCEL, CardStatus.CANCELLED),
    }
)


def after(action: Action, current: str) -> Verdict:
    """APPLY, REPEAT (already so, nothing changes) or IMPOSSIBLE (409)."""
    if current not in STATUSES:
        return Verdict.IMPOSSIBLE
    key = (action, CardStatus(current))
    if key in REPEATS:
        return Verdict.REPEAT
    return Verdict.APPLY if key in AFTER_ACTIVATION else Verdict.IMPOSSIBLE


def next_status(action: Action, current: str) -> CardStatus:
    """The status `action` leaves a card in; only for an APPLY verdict."""
    return AFTER_ACTIVATION[(action, CardStatus(current))]


def replacement_allowed(current: str, reason: ReplacementReason) -> bool:
    """A lost card may always be replaced; an activated one only when damaged (a card that is
    lost but not reported so is reported lost first, which blocks it at once)."""
    if current == CardStatus.LOST:
        return True
    return current == CardStatus.ACTIVATED and reason == ReplacementReason.DAMAGED


def is_live(status: str) -> bool:
    return status in LIVE


def can_show_ecard(status: str) -> bool:
    """Only an activated card that is not blocked has an electronic card."""
    return status == CardStatus.ACTIVATED
