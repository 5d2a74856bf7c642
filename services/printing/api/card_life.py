"""The card after activation: a holder's own cards, reporting a card lost, unblocking it at a
counter, replacing a lost or damaged card, cancelling a card. A holder acts on their own cards,
a bank operator on their bank's, an administrator on any; any other card answers 404, as if it
did not exist. Each answers 200 with the card (201 with the new card for a replacement), 409
when the card's status does not allow it."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.printing.api.cards import (
    NO_SUCH_CARD,
    CardListSchema,
    CardSchema,
    card_view,
    problem_doc,
)
from services.printing.deps import current
from services.printing.domain import actors
from services.printing.domain.actors import Actor, ActorKind
from services.printing.domain.lifecycle import CancellationReason, ReplacementReason
from services.printing.use_cases.after_activation import (
    cancel_card,
    my_cards,
    replace_card,
    report_card_lost,
    unblock_card,
)
from shared.auth import ADMIN, BANK_OPERATOR, CITIZEN
from shared.errors import Forbidden
from shared.web.auth import current_principal, requires_roles
from shared.web.transaction import transactional

blp = Blueprint(
    "card_life",
    __name__,
    description="The card after activation: loss, unblock, replacement, cancellation.",
)

WRONG_STATE = problem_doc("The card's status does not allow this")


class UnblockSchema(Schema):
    outlet_id = fields.UUID(
        required=True, metadata={"description": "The counter (of the card's bank) where it is"}
    )


class ReplacementSchema(Schema):
    reason = fields.String(
        load_default=ReplacementReason.LOST.value,
        validate=validate.OneOf([reason.value for reason in ReplacementReason]),
        metadata={"description": "lost (the card is reported lost) or damaged"},
    )
    outlet_id = fields.UUID(
        metadata={"description": "Where to collect the new card; default the old card's"}
    )


class CancelSchema(Schema):
    reason = fields.String(
        required=True, validate=validate.OneOf([reason.value for reason in CancellationReason])
    )


def _actor() -> Actor:
    """The caller as the route's roles let them act: admin, bank operator, or holder."""
    principal = current_principal()
    if principal.has_any(ADMIN):
        return actors.admin(principal.subject)
    if principal.has_any(BANK_OPERATOR):
        if not principal.bank_code:
            raise Forbidden("This bank operator's token names no bank.")
        return actors.bank_operator(principal.subject, principal.bank_code)
    return actors.holder(principal.subject)


def holder_view(details) -> dict:
    """A card as its holder sees it: who moved it by kind only (never a staff member's
    account id), and none of the bank's command bookkeeping."""
    view = card_view(details)
    view["bank_commands"] = []
    for entry in view["timeline"]:
        entry["source"] = entry["source"].split(":", 1)[0]
    return view


@blp.route("/cards/mine", methods=["GET"])
@requires_roles(CITIZEN)
@blp.response(200, CardListSchema)
def list_my_cards():
    """The caller's own cards, newest first (a replacement before the card it replaced)."""
    with current().database.session_factory() as session:
        found = my_cards(session, account_id=current_principal().subject)
        return {"items": [holder_view(details) for details in found]}


@blp.route("/cards/<uuid:card_id>/loss", methods=["POST"])
@requires_roles(CITIZEN, BANK_OPERATOR)
@transactional(idempotent=True)
@blp.response(200, CardSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
@blp.alt_response(409, **WRONG_STATE)
def report_loss(card_id, uow):
    """Blocks an activated card at once and tells its bank; reporting it again changes
    nothing."""
    actor = _actor()
    details = report_card_lost(uow, current(), card_id=str(card_id), actor=actor)
    return holder_view(details) if actor.kind is ActorKind.HOLDER else card_view(details)


@blp.route("/cards/<uuid:card_id>/unblock", methods=["POST"])
@requires_roles(BANK_OPERATOR)
@transactional(idempotent=True)
@blp.arguments(UnblockSchema)
@blp.response(200, CardSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
@blp.alt_response(409, **WRONG_STATE)
def unblock(payload, card_id, uow):
    """The holder is at the counter: the lost card is activated again; who and where are
    recorded in its timeline."""
    details = unblock_card(
        uow, current(), card_id=str(card_id), actor=_actor(), outlet_id=str(payload["outlet_id"])
    )
    return card_view(details)


@blp.route("/cards/<uuid:card_id>/replacement", methods=["POST"])
@requires_roles(CITIZEN, BANK_OPERATOR)
@transactional(idempotent=True)
@blp.arguments(ReplacementSchema)
@blp.response(201, CardSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
@blp.alt_response(409, **problem_doc("Not lost or damaged, or a new photo is needed"))
def replacement(payload, card_id, uow):
    """A new card (new serial, same social security number) for a lost card, or a damaged
    activated one; the old card is `replaced` at once."""
    outlet = payload.get("outlet_id")
    actor = _actor()
    details = replace_card(
        uow,
        current(),
        card_id=str(card_id),
        actor=actor,
        reason=ReplacementReason(payload["reason"]),
        outlet_id=str(outlet) if outlet else None,
    )
    return holder_view(details) if actor.kind is ActorKind.HOLDER else card_view(details)


@blp.route("/cards/<uuid:card_id>/cancel", methods=["POST"])
@requires_roles(ADMIN)
@transactional(idempotent=True)
@blp.arguments(CancelSchema)
@blp.response(200, CardSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
@blp.alt_response(409, **WRONG_STATE)
def cancel(payload, card_id, uow):
    """Ends a live card for good (death, emigration, the holder's request at the counter)."""
    details = cancel_card(
        uow,
        current(),
        card_id=str(card_id),
        actor=_actor(),
        reason=CancellationReason(payload["reason"]),
    )
    return card_view(details)
