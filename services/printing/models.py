"""The tables the bank printing service owns, in its own database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column

from services.printing.domain.lifecycle import CardStatus
from shared.db.tables import UTCDateTime, new_metadata
from shared.time import utcnow

metadata = new_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Bank(Base):
    __tablename__ = "banks"

    bank_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outlet(Base):
    __tablename__ = "outlets"

    outlet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.bank_code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Applicant(Base):
    """This service's copy of what it needs from `application.submitted` to print the card.
    The ID number is encrypted; the photo is kept here so a print or a reprint months later
    needs nothing from the application service, until a retention after the card's activation
    (housekeeping.py): an activated card is never printed again."""

    __tablename__ = "applicants"

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    acceptance_number: Mapped[str] = mapped_column(String(40))
    outlet_id: Mapped[str] = mapped_column(String(36))
    bank_code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str] = mapped_column(String(10))
    ethnicity: Mapped[str] = mapped_column(String(40))
    birth_date: Mapped[date] = mapped_column(Date)
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    photo_sha256: Mapped[str] = mapped_column(String(64))
    photo_content_type: Mapped[str] = mapped_column(String(40))
    # NULL once deleted, the retention after the card's activation having passed; the digest
    # and content type stay, a record of what was printed.
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    photo_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_event_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The retention's look for photos still kept: those deleted already leave the index, so the
# hourly look does not grow with the years.
Index(
    "ix_applicants_photo_kept",
    Applicant.application_id,
    postgresql_where=Applicant.photo_deleted_at.is_(None),
    sqlite_where=Applicant.photo_deleted_at.is_(None),
)


class ClosedApplication(Base):
    """An application that ended without a card, cancelled or rejected: no card is ever made
    for it, its personal data is gone, and a late `application.submitted` stores nothing."""

    __tablename__ = "closed_applications"

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # A domain.applicants.ClosedOutcome: whichever came first.
    outcome: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Card(Base):
    """One card order per application, and after it the cards that replace it (lost or
    damaged), each with the same application (the same holder, photo and account); its serial
    and identification code are those of the current print run (a reprint replaces them;
    card_serials keeps them all). At most one card of an application is live."""

    __tablename__ = "cards"

    card_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    bank_code: Mapped[str] = mapped_column(ForeignKey("banks.bank_code"), index=True)
    outlet_id: Mapped[str] = mapped_column(String(36), index=True)
    card_serial: Mapped[str] = mapped_column(String(9), unique=True)
    card_identification_code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    print_count: Mapped[int] = mapped_column(Integer, default=1)
    issue_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    bank_account_masked: Mapped[str | None] = mapped_column(String(19), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The card this one replaces (NULL for the first card of an application), and the card
    # that replaced this one.
    replaces_card_id: Mapped[str | None] = mapped_column(
        ForeignKey("cards.card_id"), nullable=True, index=True
    )
    replaced_by_card_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_FIRST_CARD = Card.replaces_card_id.is_(None)
_LIVE_CARD = Card.status.not_in([CardStatus.REPLACED.value, CardStatus.CANCELLED.value])
# Exactly one first card per application, however many approvals arrive.
Index(
    "uq_cards_first_card_of_application",
    Card.application_id,
    unique=True,
    postgresql_where=_FIRST_CARD,
    sqlite_where=_FIRST_CARD,
)
# One person, one live card: a replacement moves the claim from the old card to the new one
# in one transaction, and no interleaving can leave two live cards of one application (the
# verification service keeps a person to one application that may have a card).
Index(
    "uq_cards_live_card_of_application",
    Card.application_id,
    unique=True,
    postgresql_where=_LIVE_CARD,
    sqlite_where=_LIVE_CARD,
)


class CardSerial(Base):
    """Every serial ever assigned: the primary key keeps a serial from ever being reused."""

    __tablename__ = "card_serials"

    card_serial: Mapped[str] = mapped_column(String(9), primary_key=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.card_id"), index=True)
    card_identification_code: Mapped[str] = mapped_column(String(32), unique=True)
    print_number: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CardHistoryEntry(Base):
    """The card's timeline: every status it took, with the serial of the run it concerned."""

    __tablename__ = "card_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.card_id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    card_serial: Mapped[str] = mapped_column(String(9))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Who said so: "printing", "bank:<code>" (AMQP), "operator:<account id>",
    # "holder:<account id>" or "admin:<account id>" (REST).
    source: Mapped[str] = mapped_column(String(80))
    # Where, for what happens at a counter (an unblock with the holder present).
    outlet_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankCommand(Base):
    """A signed command sent to a card's bank (block, unblock, cancel) and the bank's
    confirmation of it. The command's CloudEvent id is its key; a confirmation names it, so a
    repeated or late confirmation finds it confirmed already and changes nothing."""

    __tablename__ = "bank_commands"

    command_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.card_id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    # The command's event type: card.block_request, card.unblock_request, card.cancel_request.
    command: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ExpiryNotice(Base):
    """An expiry notice published for a card at one threshold (90 or 30 days ahead): the key
    makes it once per threshold per card, however often the daily job runs."""

    __tablename__ = "expiry_notices"

    card_id: Mapped[str] = mapped_column(ForeignKey("cards.card_id"), primary_key=True)
    days_ahead: Mapped[int] = mapped_column(Integer, primary_key=True)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
