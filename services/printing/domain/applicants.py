"""What printing keeps of an applicant, and how an application can end without a card."""

from __future__ import annotations

from enum import StrEnum

# The column the ID number's encryption is bound to.
ID_NUMBER_COLUMN = "applicants.id_number"


class ClosedOutcome(StrEnum):
    """How an application ended without a card (closed_applications.outcome)."""

    CANCELLED = "cancelled"
    REJECTED = "rejected"


def photo_name(application_id: str) -> str:
    """What a sealed photo is bound to: moved to another applicant's row, it does not open."""
    return f"applicants/{application_id}/photo"
