"""Card orders: ordering exactly one card per approved application, sending it to print (and
again on a reprint), and what admins and bank operators see of cards."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from services.printing.dao import (
    dao_get_applicant,
    dao_get_bank,
    dao_get_card,
    dao_get_card_by_application,
    dao_get_card_history,
    dao_get_card_serials,
    dao_get_closed_application,
    dao_is_card_serial_taken,
    dao_list_bank_commands,
    dao_list_cards,
)
from services.printing.deps import Dependencies
from services.printing.domain import lifecycle, numbers
from services.printing.domain.applicants import ID_NUMBER_COLUMN, ClosedOutcome, photo_name
from services.printing.domain.lifecycle import CardStatus
from services.printing.domain.print_message import (
    CardToPrint,
    Holder,
    print_request_data,
    sign,
)
from services.printing.domain.reports import SOURCE_PRINTING
from services.printing.models import (
    Applicant,
    BankCommand,
    Card,
    CardHistoryEntry,
    CardSerial,
)
from shared.db.tables import new_id
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, NotFound, PermanentMessageError, TransientError
from shared.time import utcnow

log = logging.getLogger(__name__)


# -- what is shown of a card ------------------------------------------------------------------


@dataclass
class CardDetails:
    card: Card
    # None once the applicant's data is no longer kept.
    holder: Applicant | None
    serials: list[CardSerial] = field(default_factory=list)
    history: list[CardHistoryEntry] = field(default_factory=list)
    # The signed commands sent to the bank after activation, each with its confirmation.
    commands: list[BankCommand] = field(default_factory=list)


def card_details(session: Session, card: Card) -> CardDetails:
    return CardDetails(
        card=card,
        holder=dao_get_applicant(session, card.application_id),
        serials=dao_get_card_serials(session, card.card_id),
        history=dao_get_card_history(session, card.card_id),
        commands=dao_list_bank_commands(session, card.card_id),
    )


def visible_card(
    session: Session, card_id: str, visible_to_bank: str | None, *, for_update: bool = False
) -> Card:
    """The card, when the caller may see it: an admin (`visible_to_bank` None) any card, a bank
    operator only their bank's. Any other card is NotFound, as if it did not exist."""
    card = dao_get_card(session, card_id, for_update=for_update)
    if card is None or (visible_to_bank is not None and card.bank_code != visible_to_bank):
        raise NotFound("No such card.")
    return card


def show_card(session: Session, *, card_id: str, visible_to_bank: str | None) -> CardDetails:
    return card_details(session, visible_card(session, card_id, visible_to_bank))


def find_cards(
    session: Session,
    *,
    visible_to_bank: str | None,
    bank_code: str | None = None,
    application_id: str | None = None,
    outlet_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[CardDetails]:
    """Newest first; a bank operator finds only their bank's cards, whatever they ask for."""
    cards = dao_list_cards(
        session,
        bank_code=visible_to_bank if visible_to_bank is not None else bank_code,
        application_id=application_id,
        outlet_id=outlet_id,
        status=status,
        limit=limit,
    )
    return [card_details(session, card) for card in cards]


# -- ordering and printing --------------------------------------------------------------------


def order_card(uow: UnitOfWork, deps: Dependencies, *, application_id: str) -> Card | None:
    """Exactly one card per application: a second approval, however it arrives, finds the
    first card (and the unique constraint on application_id backs that up under races)."""
    session = uow.session
    existing = dao_get_card_by_application(session, application_id)
    if existing is not None:
        return None
    closed = dao_get_closed_application(session, application_id)
    if closed is not None:
        # A cancellation may overtake its application's approval; a rejection followed by an
        # approval breaks verification's rules, and is worth an operator's look.
        level = logging.WARNING if closed.outcome == ClosedOutcome.REJECTED else logging.INFO
        log.log(level, "application %s was %s; no card", application_id, closed.outcome)
        return None
    applicant = dao_get_applicant(session, application_id, with_photo=True)
    if applicant is None:
        # The submitted event is still on its way (waiting for a retry, say).
        raise TransientError(f"no applicant data for application {application_id} yet")
    if dao_get_bank(session, applicant.bank_code) is None:
        raise PermanentMessageError(f"unknown partner bank {applicant.bank_code!r}")
    issued = numbers.issue_date_now()
    card = Card(
        card_id=new_id(),
        application_id=application_id,
        account_id=applicant.account_id,
        bank_code=applicant.bank_code,
        outlet_id=applicant.outlet_id,
        status=CardStatus.PRINT_REQUESTED,
        print_count=0,
        issue_date=issued,
        expiry_date=numbers.expiry_date(issued),
        created_at=utcnow(),
    )
    send_to_print(uow, deps, card, applicant, reprint=False)
    return card


def reprint_card(uow: UnitOfWork, deps: Dependencies, *, card_id: str) -> CardDetails:
    """After print_failed: a new serial, a new identification code, a new print message.
    NotFound without such a card; Conflict in any other status, or without the applicant's
    data."""
    card = visible_card(uow.session, card_id, None, for_update=True)
    if not lifecycle.can_reprint(card.status):
        raise Conflict(
            f"Only a card whose printing failed can be reprinted; this one is {card.status}."
        )
    applicant = dao_get_applicant(uow.session, card.application_id, with_photo=True)
    if applicant is None or applicant.photo is None:
        raise Conflict("The applicant's data for this card is no longer kept.")
    card.status = CardStatus.PRINT_REQUESTED
    card.reason = None
    card.issue_date = numbers.issue_date_now()
    card.expiry_date = numbers.expiry_date(card.issue_date)
    send_to_print(uow, deps, card, applicant, reprint=True)
    uow.session.flush()
    return card_details(uow.session, card)


def _unused_serial(uow: UnitOfWork) -> str:
    while True:
        serial = numbers.new_card_serial()
        if not dao_is_card_serial_taken(uow.session, serial):
            return serial


def send_to_print(
    uow: UnitOfWork, deps: Dependencies, card: Card, applicant: Applicant, *, reprint: bool
) -> None:
    """A new serial and identification code for the card, then its signed print message to
    the bank and `card.print_requested` for everyone else."""
    session = uow.session
    id_number = deps.cipher.decrypt(applicant.id_number_encrypted, column=ID_NUMBER_COLUMN)
    card.card_serial = _unused_serial(uow)
    card.card_identification_code = numbers.new_identification_code(
        id_number[:6], card.issue_date, card.card_serial
    )
    card.print_count += 1
    card.updated_at = utcnow()
    if card not in session:
        session.add(card)
    session.add(
        CardSerial(
            card_serial=card.card_serial,
            card_id=card.card_id,
            card_identification_code=card.card_identification_code,
            print_number=card.print_count,
            assigned_at=utcnow(),
        )
    )
    record_history(uow, card, CardStatus.PRINT_REQUESTED, SOURCE_PRINTING, utcnow(), None)
    session.flush()
    holder = Holder(
        name=applicant.name,
        gender=applicant.gender,
        ethnicity=applicant.ethnicity,
        birth_date=applicant.birth_date,
        id_number=id_number,
        photo=deps.photo_cipher.open(applicant.photo, name=photo_name(applicant.application_id)),
        photo_content_type=applicant.photo_content_type,
    )
    _add_print_events(uow, deps, card, holder, reprint=reprint)


def _add_print_events(
    uow: UnitOfWork, deps: Dependencies, card: Card, holder: Holder, *, reprint: bool
) -> None:
    data = print_request_data(
        CardToPrint(
            card_id=card.card_id,
            application_id=card.application_id,
            bank_code=card.bank_code,
            outlet_id=card.outlet_id,
            card_serial=card.card_serial,
            card_identification_code=card.card_identification_code,
            issue_date=card.issue_date,
            expiry_date=card.expiry_date,
        ),
        holder,
    )
    uow.add_event(
        "card.print_request",
        data,
        subject=card.card_id,
        correlation_id=card.application_id,
        routing_key=card.bank_code,
        mandatory=True,
        extensions=sign(deps.print_keys.current(), data),
    )
    requested = {
        "card_id": card.card_id,
        "application_id": card.application_id,
        "account_id": card.account_id,
        "bank_code": card.bank_code,
        "outlet_id": card.outlet_id,
        "card_serial": card.card_serial,
        "reprint": reprint,
    }
    if card.replaces_card_id is not None:
        requested["replaces_card_id"] = card.replaces_card_id
    uow.add_event(
        "card.print_requested",
        requested,
        subject=card.card_id,
        correlation_id=card.application_id,
    )


def record_history(
    uow: UnitOfWork,
    card: Card,
    status: str,
    source: str,
    occurred_at: datetime,
    reason: str | None,
    *,
    outlet_id: str | None = None,
) -> None:
    uow.session.add(
        CardHistoryEntry(
            card_id=card.card_id,
            status=status,
            card_serial=card.card_serial,
            reason=reason,
            source=source,
            occurred_at=occurred_at,
            recorded_at=utcnow(),
            outlet_id=outlet_id,
        )
    )
