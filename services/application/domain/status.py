"""An application's status and how events move it (docs/contract.md §3.2).

The statuses are ordered; a status never goes backwards, except `print_failed →
print_requested` on a reprint. Which moves are allowed is an explicit table rather than "any
later status", because some later statuses are not reachable from some earlier ones (a
rejected application is never printed; a printed card does not fail to print afterwards).
The table includes the jumps that reordered delivery causes — `card.shipped` arriving before
`card.printed` moves `print_requested` straight to `shipped` — so the final status does not
depend on the order events arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.errors import Conflict


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFYING = "verifying"
    REVIEW_REQUIRED = "review_required"
    APPROVED = "approved"
    REJECTED = "rejected"
    PRINT_REQUESTED = "print_requested"
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    ACTIVATED = "activated"
    CANCELLED = "cancelled"


ORDER: tuple[Status, ...] = tuple(Status)
RANK = {status: rank for rank, status in enumerate(ORDER)}

_CARD_AFTER_PRINTING = (
    Status.SHIPPED,
    Status.READY_FOR_PICKUP,
    Status.COLLECTED,
    Status.ACTIVATED,
)
_CARD_ANY = (
    Status.PRINT_REQUESTED,
    Status.PRINTED,
    Status.PRINT_FAILED,
    *_CARD_AFTER_PRINTING,
)
_VERIFICATION_ANY = (Status.VERIFYING, Status.REVIEW_REQUIRED, Status.APPROVED, Status.REJECTED)

# status → the statuses it may move to. Card statuses are reachable from every status the
# verification could still be in, since a card event may overtake `verification.approved`.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.CANCELLED}),
    Status.SUBMITTED: frozenset({*_VERIFICATION_ANY, *_CARD_ANY, Status.CANCELLED}),
    Status.VERIFYING: frozenset(
        {Status.REVIEW_REQUIRED, Status.APPROVED, Status.REJECTED, *_CARD_ANY, Status.CANCELLED}
    ),
    Status.REVIEW_REQUIRED: frozenset(
        {Status.APPROVED, Status.REJECTED, *_CARD_ANY, Status.CANCELLED}
    ),
    Status.APPROVED: frozenset({*_CARD_ANY, Status.CANCELLED}),
    Status.REJECTED: frozenset(),
    Status.PRINT_REQUESTED: frozenset({Status.PRINTED, Status.PRINT_FAILED, *_CARD_AFTER_PRINTING}),
    Status.PRINTED: frozenset(_CARD_AFTER_PRINTING),
    # The one step back: a reprint. `printed` (a step back in the order) is the reprinted
    # card whose print_requested report was overtaken; later statuses likewise.
    Status.PRINT_FAILED: frozenset({Status.PRINT_REQUESTED, Status.PRINTED, *_CARD_AFTER_PRINTING}),
    Status.SHIPPED: frozenset({Status.READY_FOR_PICKUP, Status.COLLECTED, Status.ACTIVATED}),
    Status.READY_FOR_PICKUP: frozenset({Status.COLLECTED, Status.ACTIVATED}),
    Status.COLLECTED: frozenset({Status.ACTIVATED}),
    Status.ACTIVATED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# Once in one of these, the person may open a new application.
CLOSED = frozenset({Status.REJECTED, Status.CANCELLED, Status.ACTIVATED})
# Closed with no card: the photo and ID card images have no purpose left once a complaint or a
# reviewer's second look is no longer expected, and are deleted after a retention
# (housekeeping.py). An activated application keeps them: its card is live.
ENDED_WITHOUT_CARD = frozenset({Status.REJECTED, Status.CANCELLED})
# The citizen may cancel until the application has been sent to print.
CANCELLABLE = frozenset(
    {Status.DRAFT, Status.SUBMITTED, Status.VERIFYING, Status.REVIEW_REQUIRED, Status.APPROVED}
)

_PRINT_LOOP = frozenset({Status.PRINT_REQUESTED, Status.PRINT_FAILED})

# What each consumed event reports.
EVENT_STATUS: dict[str, Status] = {
    "verification.started": Status.VERIFYING,
    "verification.review_required": Status.REVIEW_REQUIRED,
    "verification.approved": Status.APPROVED,
    "verification.rejected": Status.REJECTED,
    "card.print_requested": Status.PRINT_REQUESTED,
    "card.printed": Status.PRINTED,
    "card.print_failed": Status.PRINT_FAILED,
    "card.shipped": Status.SHIPPED,
    "card.ready_for_pickup": Status.READY_FOR_PICKUP,
    "card.collected": Status.COLLECTED,
    "card.activated": Status.ACTIVATED,
}


@dataclass(frozen=True)
class StatusState:
    """Where an application stands: its status and when the fact behind it happened."""

    status: Status
    occurred_at: datetime | None


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def next_state(current: StatusState, target: Status, occurred_at: datetime) -> StatusState:
    """The state after learning that `target` happened at `occurred_at`; the current state
    when that fact is stale (a duplicate, or an event overtaken by a later one).

    Between `print_requested` and `print_failed`, which may alternate (a failure, a reprint,
    another failure), the table alone cannot tell a reprint from the first request arriving
    late; there the newer fact wins. Elsewhere the table decides, so clocks of different
    services never need to agree.
    """
    newer = current.occurred_at is None or occurred_at > current.occurred_at
    if target is current.status:
        return StatusState(target, occurred_at) if newer else current
    if not can_move(current.status, target):
        return current
    if {current.status, target} == _PRINT_LOOP and not newer:
        return current
    return StatusState(target, occurred_at)


def is_open(status: Status) -> bool:
    return status not in CLOSED


def is_cancellable(status: Status) -> bool:
    return status in CANCELLABLE


def check_is_draft(status: Status) -> None:
    """Only a draft's files and details may change; 409 afterwards."""
    if status is not Status.DRAFT:
        raise Conflict(f"The application is {status}; its files and details can no longer change.")


def check_is_cancellable(status: Status) -> None:
    """An application may be withdrawn until it is sent to print; 409 afterwards."""
    if not is_cancellable(status):
        raise Conflict(f"An application that is {status} can no longer be cancelled.")
