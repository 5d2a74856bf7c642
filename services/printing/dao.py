"""Data access for the bank printing service: `dao_<verb>_<noun>()` functions over a session."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session, undefer

from services.printing.domain.lifecycle import CardStatus
from services.printing.models import (
    Applicant,
    Bank,
    BankCommand,
    Card,
    CardHistoryEntry,
    CardSerial,
    ClosedApplication,
    ExpiryNotice,
    Outlet,
)

# -- banks and outlets ------------------------------------------------------------------------


def dao_get_bank(session: Session, bank_code: str) -> Bank | None:
    return session.get(Bank, bank_code)


def dao_list_banks(session: Session) -> list[Bank]:
    return list(session.scalars(select(Bank).order_by(Bank.bank_code)))


def dao_list_bank_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Bank.bank_code).order_by(Bank.bank_code)))


def dao_get_outlet(session: Session, outlet_id: str) -> Outlet | None:
    return session.get(Outlet, outlet_id)


def dao_list_outlets(
    session: Session,
    *,
    bank_code: str | None = None,
    district: str | None = None,
    include_inactive: bool = False,
) -> list[Outlet]:
    query = select(Outlet).order_by(Outlet.bank_code, Outlet.district, Outlet.name)
    if bank_code:
        query = query.where(Outlet.bank_code == bank_code)
    if district:
        query = query.where(Outlet.district == district)
    if not include_inactive:
        query = query.where(Outlet.active.is_(True))
    return list(session.scalars(query))


def dao_list_outlets_of_bank(session: Session, bank_code: str) -> list[Outlet]:
    return list(session.scalars(select(Outlet).where(Outlet.bank_code == bank_code)))


def dao_list_all_outlets(session: Session) -> list[Outlet]:
    return list(session.scalars(select(Outlet).order_by(Outlet.outlet_id)))


# -- applicants -------------------------------------------------------------------------------


def dao_get_applicant(
    session: Session, application_id: str, *, with_photo: bool = False
) -> Applicant | None:
    options = [undefer(Applicant.photo)] if with_photo else []
    return session.get(Applicant, application_id, options=options)


def dao_get_closed_application(session: Session, application_id: str) -> ClosedApplication | None:
    return session.get(ClosedApplication, application_id)


def dao_list_applicants_keeping_photo_of_cards_activated_before(
    session: Session, activated_before: datetime, *, limit: int
) -> list[str]:
    """Up to `limit` applications whose card this service recorded as activated before
    `activated_before` and whose applicant still keeps the photo, oldest activation first,
    locked until this transaction ends. Rows another transaction holds are skipped, not waited
    for: the next look finds them."""
    return list(
        session.scalars(
            select(Applicant.application_id)
            .join(Card, Card.application_id == Applicant.application_id)
            .join(CardHistoryEntry, CardHistoryEntry.card_id == Card.card_id)
            .where(
                Applicant.photo_deleted_at.is_(None),
                Card.status == CardStatus.ACTIVATED,
                CardHistoryEntry.status == CardStatus.ACTIVATED,
                CardHistoryEntry.recorded_at < activated_before,
            )
            .order_by(CardHistoryEntry.recorded_at, Applicant.application_id)
            .limit(limit)
            .with_for_update(of=Applicant, skip_locked=True)
        )
    )


def dao_forget_applicants_of_closed_applications(session: Session) -> int:
    """Deletes the applicant copies of applications closed without a card (a tombstone in
    closed_applications, no card); how many. Handling the cancellation or rejection deletes
    the copy itself, but with several workers a submission being retried can store it in the
    very moment the tombstone is written on another, each transaction looking before the
    other commits."""
    no_card = ~exists().where(Card.application_id == Applicant.application_id)
    result = session.execute(
        delete(Applicant)
        .where(Applicant.application_id.in_(select(ClosedApplication.application_id)), no_card)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def dao_delete_photos(session: Session, application_ids: list[str], deleted_at: datetime) -> int:
    """Deletes these applicants' photos, recording when; how many (one already deleted is not
    counted, nor touched)."""
    if not application_ids:
        return 0
    result = session.execute(
        update(Applicant)
        .where(
            Applicant.application_id.in_(application_ids),
            Applicant.photo_deleted_at.is_(None),
        )
        .values(photo=None, photo_deleted_at=deleted_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# -- cards ------------------------------------------------------------------------------------


def dao_get_card(session: Session, card_id: str, *, for_update: bool = False) -> Card | None:
    return session.get(Card, card_id, with_for_update=for_update or None)


def dao_get_card_by_application(session: Session, application_id: str) -> Card | None:
    """The application's first card (replacements name the card they replace)."""
    return session.scalar(
        select(Card).where(Card.application_id == application_id, Card.replaces_card_id.is_(None))
    )


def dao_list_cards_of_account(session: Session, account_id: str, *, limit: int = 50) -> list[Card]:
    return list(
        session.scalars(
            select(Card)
            .where(Card.account_id == account_id)
            .order_by(Card.created_at.desc(), Card.card_id)
            .limit(limit)
        )
    )


def dao_list_live_cards_expiring(
    session: Session, *, after: date, on_or_before: date, days_ahead: int, limit: int
) -> list[Card]:
    """Activated or lost cards expiring after `after` and by `on_or_before` with no notice yet
    for `days_ahead`, soonest first."""
    noticed = exists().where(
        ExpiryNotice.card_id == Card.card_id, ExpiryNotice.days_ahead == days_ahead
    )
    return list(
        session.scalars(
            select(Card)
            .where(
                Card.status.in_([CardStatus.ACTIVATED, CardStatus.LOST]),
                Card.expiry_date > after,
                Card.expiry_date <= on_or_before,
                ~noticed,
            )
            .order_by(Card.expiry_date, Card.card_id)
            .limit(limit)
        )
    )


def dao_add_expiry_notice(session: Session, card_id: str, days_ahead: int, at: datetime) -> None:
    session.add(ExpiryNotice(card_id=card_id, days_ahead=days_ahead, notified_at=at))


# -- commands to banks ------------------------------------------------------------------------


def dao_add_bank_command(
    session: Session, *, command_id: str, card_id: str, bank_code: str, command: str, at: datetime
) -> None:
    session.add(
        BankCommand(
            command_id=command_id, card_id=card_id, bank_code=bank_code, command=command, sent_at=at
        )
    )


def dao_get_bank_command(
    session: Session, command_id: str, *, for_update: bool = False
) -> BankCommand | None:
    return session.get(BankCommand, command_id, with_for_update=for_update or None)


def dao_list_bank_commands(session: Session, card_id: str) -> list[BankCommand]:
    return list(
        session.scalars(
            select(BankCommand)
            .where(BankCommand.card_id == card_id)
            .order_by(BankCommand.sent_at, BankCommand.command_id)
        )
    )


def dao_list_cards(
    session: Session,
    *,
    bank_code: str | None = None,
    application_id: str | None = None,
    outlet_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[Card]:
    query = select(Card).order_by(Card.created_at.desc(), Card.card_id).limit(limit)
    for column, value in (
        (Card.bank_code, bank_code),
        (Card.application_id, application_id),
        (Card.outlet_id, outlet_id),
        (Card.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))


def dao_is_card_serial_taken(session: Session, card_serial: str) -> bool:
    return session.get(CardSerial, card_serial) is not None


def dao_get_card_serial(session: Session, card_serial: str) -> CardSerial | None:
    return session.get(CardSerial, card_serial)


def dao_get_card_serials(session: Session, card_id: str) -> list[CardSerial]:
    return list(
        session.scalars(
            select(CardSerial)
            .where(CardSerial.card_id == card_id)
            .order_by(CardSerial.print_number)
        )
    )


def dao_get_card_history(session: Session, card_id: str) -> list[CardHistoryEntry]:
    return list(
        session.scalars(
            select(CardHistoryEntry)
            .where(CardHistoryEntry.card_id == card_id)
            .order_by(CardHistoryEntry.id)
        )
    )
