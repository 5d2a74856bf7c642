"""The electronic card: its payload for the holder, and the platform's verification of one,
which adds what an offline check cannot know: the card's status now."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.printing.dao import dao_get_applicant, dao_get_card
from services.printing.deps import Dependencies
from services.printing.domain import ecard, lifecycle
from shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class Payload:
    payload: str
    key_id: str
    issued_at: int
    expires_at: int


def issue_ecard(
    session: Session, deps: Dependencies, *, card_id: str, holder_id: str, now: int | None = None
) -> Payload:
    """The holder's payload for their activated, unblocked card. NotFound for a card not
    theirs; Conflict when the card is lost, replaced, cancelled or not yet activated."""
    card = dao_get_card(session, card_id)
    if card is None or card.account_id != holder_id:
        raise NotFound("No such card.")
    if not lifecycle.can_show_ecard(card.status):
        raise Conflict(
            f"A card that is {card.status} has no electronic card.",
            extra={"card_status": card.status},
        )
    applicant = dao_get_applicant(session, card.application_id)
    if applicant is None:
        raise Conflict("The holder's details for this card are no longer kept.")
    now = int(time.time()) if now is None else now
    signer = deps.ecard_keys.current()
    face = ecard.CardFace(
        card_id=card.card_id,
        card_serial=card.card_serial,
        name=applicant.name,
        social_security_number_masked=applicant.id_number_masked,
        expiry_date=card.expiry_date.isoformat(),
    )
    token = ecard.issue(signer, face, now=now)
    return Payload(token, signer.kid, now, now + ecard.LIFETIME_SECONDS)


def public_keys(deps: Dependencies) -> dict[str, Any]:
    return {key.kid: key.public_key for key in deps.ecard_keys.verification_keys()}


def verify_ecard(
    session: Session, deps: Dependencies, *, payload: str, now: int | None = None
) -> dict[str, Any]:
    """{valid, reason?, claims?}: valid only when the signature is good, the payload has not
    expired, and the card is activated (not lost, replaced or cancelled) with that serial."""
    now = int(time.time()) if now is None else now
    try:
        claims = ecard.read(payload, public_keys(deps), now=now)
    except ecard.InvalidPayload as exc:
        return {"valid": False, "reason": exc.reason}
    card = dao_get_card(session, str(claims.get("sub")))
    if card is None or card.card_serial != claims.get("card_serial"):
        return {"valid": False, "reason": "unknown_card"}
    if not lifecycle.can_show_ecard(card.status):
        return {"valid": False, "reason": "card_not_active", "card_status": card.status}
    return {"valid": True, "card_status": card.status, "claims": claims}
