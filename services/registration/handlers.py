"""What the registration service does with each event it consumes: one function per type."""

from __future__ import annotations

from services.registration.deps import Dependencies
from services.registration.use_cases import account_states
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import DependentHandler
from shared.messaging.envelope import Event


def handle_verification_approved(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    """The applicant's person passed the face check against the registry: bind the ID number
    to this account and lock the other accounts that carry it (idempotent on redelivery)."""
    account_states.prove_identity(uow, deps, account_id=str(event.data["account_id"]))


HANDLERS: dict[str, DependentHandler] = {
    "verification.approved": handle_verification_approved,
}
