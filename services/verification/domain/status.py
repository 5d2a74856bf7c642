"""A verification case's status and an identity claim's state: the only place they are spelled."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    # Being checked (opened, the checks not yet done), waiting for a reviewer, decided either
    # way, or withdrawn by the citizen.
    CHECKING = "checking"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# As plain strings, for schemas and the documents generated from them.
CASE_STATUSES: tuple[str, ...] = tuple(status.value for status in CaseStatus)
# The statuses of the backlog: cases still being checked, and cases waiting for a reviewer.
BACKLOG_STATUSES = (CaseStatus.CHECKING, CaseStatus.PENDING)


class ClaimState(StrEnum):
    # Approved and the card on its way; the card in its holder's hands.
    PENDING = "pending"
    LIVE = "live"


# Who decided a case the checks decided on their own.
SYSTEM = "system"
