"""The card after activation: reporting it lost (blocked at once), unblocking it at a counter,
replacing a lost or damaged card with a new one, cancelling a card; the holder's own cards; and
the banks' confirmations of the signed commands each of these sends them.

Every change takes effect in sscard at once and is announced on `sscard.events`; the card's
bank receives a signed command on `print.<bank_code>` in the same transaction, and confirms it
later on `sscard.bank-feedback`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from services.printing.dao import (
    dao_add_bank_command,
    dao_get_applicant,
    dao_get_bank_command,
    dao_get_card,
    dao_get_outlet,
    dao_list_cards_of_account,
)
from services.printing.deps import Dependencies
from services.printing.domain import bank_commands, lifecycle, numbers
from services.printing.domain.actors import Actor
from services.printing.domain.lifecycle import (
    Action,
    CancellationReason,
    CardStatus,
    ReplacementReason,
    Verdict,
)
from services.printing.domain.print_message import sign
from services.printing.domain.reports import ImpossibleTransition
from services.printing.models import Applicant, Card
from services.printing.use_cases.cards import (
    CardDetails,
    card_details,
    record_history,
    send_to_print,
)
from shared.db.tables import new_id
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, InvalidInput, NotFound, PermanentMessageError
from shared.time import format_time, utcnow

log = logging.getLogger(__name__)

# The problem's `code` when a replacement needs a new photo (docs/printing.md).
NEW_PHOTO_REQUIRED = "new_photo_required"


def _card_for(uow: UnitOfWork, actor: Actor, card_id: str) -> Card:
    """The card locked for update, when the actor may act on it; else NotFound, as if it did
    not exist."""
    card = dao_get_card(uow.session, card_id, for_update=True)
    if card is None or not actor.may_act_on(account_id=card.account_id, bank_code=card.bank_code):
        raise NotFound("No such card.")
    return card


def _judge(card: Card, action: Action) -> bool:
    """True to apply, False for a repeat that changes nothing; ImpossibleTransition (409)."""
    verdict = lifecycle.after(action, card.status)
    if verdict is Verdict.IMPOSSIBLE:
        raise ImpossibleTransition(
            f"A card that is {card.status} cannot be {_DONE[action]}.",
            extra={"card_status": card.status},
        )
    return verdict is Verdict.APPLY


_DONE = {
    Action.REPORT_LOSS: "reported lost",
    Action.UNBLOCK: "unblocked",
    Action.REPLACE: "replaced",
    Action.CANCEL: "cancelled",
}


def announce_card_event(
    uow: UnitOfWork, event_type: str, card: Card, occurred_at: datetime, **extra
) -> None:
    """The card's event on `sscard.events`, about the card, in its application's correlation."""
    uow.add_event(
        event_type,
        _event_data(card, occurred_at, **extra),
        subject=card.card_id,
        correlation_id=card.application_id,
    )


def _event_data(card: Card, occurred_at: datetime, **extra) -> dict:
    return {
        "card_id": card.card_id,
        "application_id": card.application_id,
        "account_id": card.account_id,
        "bank_code": card.bank_code,
        "outlet_id": card.outlet_id,
        "card_serial": card.card_serial,
        "occurred_at": format_time(occurred_at),
        **extra,
    }


def _move(
    uow: UnitOfWork,
    card: Card,
    status: CardStatus,
    actor: Actor,
    at: datetime,
    *,
    reason: str | None = None,
    outlet_id: str | None = None,
) -> None:
    card.status = status
    card.reason = reason
    card.updated_at = at
    record_history(uow, card, status, actor.source, at, reason, outlet_id=outlet_id)


def _replaceable(
    uow: UnitOfWork, old: Card, reason: ReplacementReason, outlet_id: str
) -> Applicant:
    """The applicant (with the photo) to print the replacement from, once the old card, the
    reason and the outlet allow a replacement; Conflict or InvalidInput otherwise."""
    _judge(old, Action.REPLACE)
    if not lifecycle.replacement_allowed(old.status, reason):
        raise ImpossibleTransition(
            "An activated card is replaced only when damaged; report a lost card lost first.",
            extra={"card_status": old.status},
        )
    outlet = dao_get_outlet(uow.session, outlet_id)
    if outlet is None or outlet.bank_code != old.bank_code or not outlet.active:
        raise InvalidInput(
            "The replacement is collected at an active outlet of the card's bank.",
            errors={"outlet_id": ["Not an active outlet of the card's bank."]},
        )
    applicant = dao_get_applicant(uow.session, old.application_id, with_photo=True)
    if applicant is None or applicant.photo is None:
        raise Conflict(
            "The photo of this card is no longer kept: a replacement needs a new photo, "
            "through a new application with the application service.",
            extra={"code": NEW_PHOTO_REQUIRED, "card_status": old.status},
        )
    return applicant


def send_bank_command(
    uow: UnitOfWork,
    deps: Dependencies,
    card: Card,
    command: str,
    *,
    at: datetime,
    reason: str | None = None,
    outlet_id: str | None = None,
) -> str:
    """The signed command to the card's bank, recorded to await its confirmation; its id."""
    reference = bank_commands.CardReference(
        card.card_id, card.application_id, card.bank_code, card.card_serial
    )
    data = bank_commands.command_data(
        reference, requested_at=at, reason=reason, outlet_id=outlet_id
    )
    event = uow.add_event(
        command,
        data,
        subject=card.card_id,
        correlation_id=card.application_id,
        routing_key=card.bank_code,
        mandatory=True,
        extensions=sign(deps.print_keys.current(), data),
    )
    dao_add_bank_command(
        uow.session,
        command_id=event.id,
        card_id=card.card_id,
        bank_code=card.bank_code,
        command=command,
        at=at,
    )
    return event.id


def report_card_lost(
    uow: UnitOfWork, deps: Dependencies, *, card_id: str, actor: Actor
) -> CardDetails:
    """Blocks an activated card at once; a card reported lost already stays as it is."""
    card = _card_for(uow, actor, card_id)
    if _judge(card, Action.REPORT_LOSS):
        now = utcnow()
        _move(uow, card, CardStatus.LOST, actor, now)
        reported_by = "holder" if actor.kind == "holder" else "operator"
        announce_card_event(uow, "card.reported_lost", card, now, reported_by=reported_by)
        send_bank_command(uow, deps, card, bank_commands.BLOCK_REQUEST, at=now)
        uow.session.flush()
    return card_details(uow.session, card)


def unblock_card(
    uow: UnitOfWork, deps: Dependencies, *, card_id: str, actor: Actor, outlet_id: str
) -> CardDetails:
    """A bank operator of the card's bank, the holder present at `outlet_id` (an outlet of
    that bank): the lost card is activated again."""
    card = _card_for(uow, actor, card_id)
    outlet = dao_get_outlet(uow.session, outlet_id)
    if outlet is None or outlet.bank_code != card.bank_code:
        raise InvalidInput(
            "The outlet is not one of the card's bank.",
            errors={"outlet_id": ["Not an outlet of the card's bank."]},
        )
    _judge(card, Action.UNBLOCK)
    now = utcnow()
    _move(uow, card, CardStatus.ACTIVATED, actor, now, outlet_id=outlet_id)
    announce_card_event(uow, "card.unblocked", card, now, unblocked_at_outlet_id=outlet_id)
    send_bank_command(uow, deps, card, bank_commands.UNBLOCK_REQUEST, at=now, outlet_id=outlet_id)
    uow.session.flush()
    return card_details(uow.session, card)


def replace_card(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    card_id: str,
    actor: Actor,
    reason: ReplacementReason,
    outlet_id: str | None = None,
) -> CardDetails:
    """A new card for a lost or damaged one: new serial, same social security number, same
    account and bank, at `outlet_id` (an active outlet of the same bank; default the old
    card's). The old card is `replaced` at once and its bank told to cancel it; the new card
    goes through print → … → activated. The photo is the one printing still keeps of the
    application; when it is no longer kept, 409 with code `new_photo_required`."""
    old = _card_for(uow, actor, card_id)
    outlet_id = outlet_id or old.outlet_id
    applicant = _replaceable(uow, old, reason, outlet_id)
    now = utcnow()
    new = Card(
        card_id=new_id(),
        application_id=old.application_id,
        account_id=old.account_id,
        bank_code=old.bank_code,
        outlet_id=outlet_id,
        status=CardStatus.PRINT_REQUESTED,
        print_count=0,
        issue_date=numbers.issue_date_now(),
        replaces_card_id=old.card_id,
        created_at=now,
    )
    new.expiry_date = numbers.expiry_date(new.issue_date)
    # The old card stops being live before the new one exists: one live card throughout.
    _move(uow, old, CardStatus.REPLACED, actor, now, reason=reason)
    old.replaced_by_card_id = new.card_id
    uow.session.flush()
    announce_card_event(
        uow, "card.replaced", old, now, new_card_id=new.card_id, replacement_reason=reason
    )
    send_bank_command(uow, deps, old, bank_commands.CANCEL_REQUEST, at=now, reason="replaced")
    send_to_print(uow, deps, new, applicant, reprint=False)
    uow.session.flush()
    return card_details(uow.session, new)


def cancel_card(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    card_id: str,
    actor: Actor,
    reason: CancellationReason,
) -> CardDetails:
    """An administrator ends a live card for good; cancelling it again changes nothing."""
    card = _card_for(uow, actor, card_id)
    if _judge(card, Action.CANCEL):
        now = utcnow()
        _move(uow, card, CardStatus.CANCELLED, actor, now, reason=reason)
        announce_card_event(uow, "card.cancelled", card, now, cancellation_reason=reason)
        send_bank_command(uow, deps, card, bank_commands.CANCEL_REQUEST, at=now, reason=reason)
        uow.session.flush()
    return card_details(uow.session, card)


def my_cards(session: Session, *, account_id: str) -> list[CardDetails]:
    """The holder's own cards, newest first."""
    return [card_details(session, card) for card in dao_list_cards_of_account(session, account_id)]


def record_bank_confirmation(
    uow: UnitOfWork, *, bank_code: str, card_id: str, status: str, command_id: str | None
) -> bool:
    """A bank confirms a command; False when it was confirmed already (a duplicate) — the
    card's status is sscard's decision and never moves on a confirmation, so confirmations in
    any order change nothing but the record of the command. A confirmation of no command of
    this bank's card, or of another kind of command, is refused (PermanentMessageError)."""
    expected = bank_commands.COMMAND_CONFIRMED_BY.get(status)
    command = dao_get_bank_command(uow.session, command_id, for_update=True) if command_id else None
    if (
        command is None
        or command.card_id != card_id
        or command.bank_code != bank_code
        or command.command != expected
    ):
        raise PermanentMessageError(
            f"bank {bank_code} confirmed {status!r} for card {card_id}, but no such command "
            f"{command_id} was sent to it"
        )
    if command.confirmed_at is not None:
        return False
    command.confirmed_at = utcnow()
    log.info("bank %s confirmed %s of card %s", bank_code, command.command, card_id)
    return True
