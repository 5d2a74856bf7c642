"""Use cases for card orders: keeping the applicant's data (and forgetting it when the
application ends without a card), ordering exactly one card per approved application, sending
it to print (and again on a reprint), and applying the status reports of banks and bank
operators."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.printing.dao import (
    dao_get_applicant,
    dao_get_bank,
    dao_get_card_by_application,
    dao_get_closed_application,
    dao_is_card_serial_taken,
)
from services.printing.database import PrintingDatabase
from services.printing.domain import lifecycle, numbers
from services.printing.domain.bank_accounts import masked_bank_account
from services.printing.domain.lifecycle import Verdict
from services.printing.domain.print_message import (
    CardToPrint,
    Holder,
    print_request_data,
    sign,
)
from services.printing.models import (
    Applicant,
    Card,
    CardHistoryEntry,
    CardSerial,
    ClosedApplication,
)
from shared.claim_check import fetch_claimed_file
from shared.db import new_id, utcnow
from shared.errors import Conflict, PermanentMessageError, TransientError
from shared.messaging.envelope import format_time
from shared.pii import mask_id_number
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

ID_NUMBER_COLUMN = "applicants.id_number"
SOURCE_PRINTING = "printing"
# How an application ended without a card (closed_applications.outcome).
CANCELLED = "cancelled"
REJECTED = "rejected"


class ImpossibleTransition(Conflict):
    """The report contradicts what the card went through (print_failed after printed, …)."""


class NotYetPossible(Conflict):
    """The report skips a step: over REST a 409; on a queue the missing report may still be on
    its way, so the message is retried later."""


# -- the applicant's data ---------------------------------------------------------------------


def _photo_name(application_id: str) -> str:
    """What a sealed photo is bound to: moved to another applicant's row, it does not open."""
    return f"applicants/{application_id}/photo"


def keep_applicant(uow: UnitOfWork, database: PrintingDatabase, data: dict, event_id: str) -> bool:
    """Stores what printing needs from `application.submitted`; returns False when there was
    nothing to do (already kept, or the application was cancelled or rejected first)."""
    application_id = data["application_id"]
    session = uow.session
    if dao_get_closed_application(session, application_id) is not None:
        return False
    if dao_get_applicant(session, application_id) is not None:
        return False
    photo_reference = data["files"]["photo"]
    # Fetched now, while the claim check is fresh, so printing and any reprint later depend on
    # nothing outside this service. Raises TransientError (retry) or PermanentMessageError.
    photo = fetch_claimed_file(photo_reference, database.service_tokens)
    applicant = data["applicant"]
    id_number = applicant["id_number"].upper()
    session.add(
        Applicant(
            application_id=application_id,
            account_id=data["account_id"],
            acceptance_number=data["acceptance_number"],
            outlet_id=data["outlet_id"],
            bank_code=data["bank_code"],
            name=applicant["name"],
            gender=applicant["gender"],
            ethnicity=applicant["ethnicity"],
            birth_date=date.fromisoformat(applicant["birth_date"]),
            id_number_encrypted=database.cipher.encrypt(id_number, column=ID_NUMBER_COLUMN),
            id_number_masked=mask_id_number(id_number),
            photo_sha256=photo_reference["sha256"],
            photo_content_type=photo_reference["content_type"],
            photo=database.photo_cipher.seal(photo, name=_photo_name(application_id)),
            submitted_event_id=event_id,
            received_at=utcnow(),
        )
    )
    return True


def forget_application_without_card(uow: UnitOfWork, application_id: str, outcome: str) -> None:
    """The application was cancelled or rejected before approval: no card will ever be made,
    the personal data kept for printing is deleted, and a tombstone keeps a late submission
    from storing it again (the first outcome stays; a second changes nothing). Either after
    the card was ordered changes nothing: the application service only allows cancelling
    before the print request, and verification decides once."""
    session = uow.session
    if dao_get_card_by_application(session, application_id) is not None:
        log.warning(
            "application %s %s after its card was ordered; ignored", application_id, outcome
        )
        return
    if dao_get_closed_application(session, application_id) is None:
        session.add(
            ClosedApplication(application_id=application_id, outcome=outcome, closed_at=utcnow())
        )
    applicant = dao_get_applicant(session, application_id)
    if applicant is not None:
        session.delete(applicant)


# -- ordering and printing --------------------------------------------------------------------


def order_card(uow: UnitOfWork, database: PrintingDatabase, application_id: str) -> Card | None:
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
        level = logging.WARNING if closed.outcome == REJECTED else logging.INFO
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
        status=lifecycle.PRINT_REQUESTED,
        print_count=0,
        issue_date=issued,
        expiry_date=numbers.expiry_date(issued),
        created_at=utcnow(),
    )
    _send_to_print(uow, database, card, applicant, reprint=False)
    return card


def reprint_card(uow: UnitOfWork, database: PrintingDatabase, card: Card) -> Card:
    """After print_failed: a new serial, a new identification code, a new print message."""
    if not lifecycle.can_reprint(card.status):
        raise Conflict(
            f"Only a card whose printing failed can be reprinted; this one is {card.status}."
        )
    applicant = dao_get_applicant(uow.session, card.application_id, with_photo=True)
    if applicant is None or applicant.photo is None:
        raise Conflict("The applicant's data for this card is no longer kept.")
    card.status = lifecycle.PRINT_REQUESTED
    card.reason = None
    card.issue_date = numbers.issue_date_now()
    card.expiry_date = numbers.expiry_date(card.issue_date)
    _send_to_print(uow, database, card, applicant, reprint=True)
    return card


def _unused_serial(uow: UnitOfWork) -> str:
    while True:
        serial = numbers.new_card_serial()
        if not dao_is_card_serial_taken(uow.session, serial):
            return serial


def _send_to_print(
    uow: UnitOfWork,
    database: PrintingDatabase,
    card: Card,
    applicant: Applicant,
    *,
    reprint: bool,
) -> None:
    session = uow.session
    id_number = database.cipher.decrypt(applicant.id_number_encrypted, column=ID_NUMBER_COLUMN)
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
    _record(uow, card, lifecycle.PRINT_REQUESTED, SOURCE_PRINTING, utcnow(), None)
    session.flush()

    holder = Holder(
        name=applicant.name,
        gender=applicant.gender,
        ethnicity=applicant.ethnicity,
        birth_date=applicant.birth_date,
        id_number=id_number,
        photo=database.photo_cipher.open(
            applicant.photo, name=_photo_name(applicant.application_id)
        ),
        photo_content_type=applicant.photo_content_type,
    )
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
        extensions=sign(database.print_keys.current(), data),
    )
    uow.add_event(
        "card.print_requested",
        {
            "card_id": card.card_id,
            "application_id": card.application_id,
            "account_id": card.account_id,
            "bank_code": card.bank_code,
            "outlet_id": card.outlet_id,
            "card_serial": card.card_serial,
            "reprint": reprint,
        },
        subject=card.card_id,
        correlation_id=card.application_id,
    )


# -- status reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusReport:
    status: str
    source: str
    occurred_at: datetime
    reason: str | None = None
    bank_account: str | None = None
    # The serial of the print run the report is about, when the reporter says so.
    card_serial: str | None = None


def parse_occurred_at(value: str | None) -> datetime:
    if not value:
        return utcnow()
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def apply_status_report(uow: UnitOfWork, card: Card, report: StatusReport) -> bool:
    """Applies one report to a card loaded for update; False when it changes nothing (a
    repeat). Raises ImpossibleTransition or NotYetPossible (both 409 over REST)."""
    if report.card_serial is not None and report.card_serial != card.card_serial:
        earlier = uow.session.get(CardSerial, report.card_serial)
        if earlier is None or earlier.card_id != card.card_id:
            raise ImpossibleTransition(
                f"{report.card_serial} is not a serial of this card.",
                extra={"card_status": card.status},
            )
        # About an earlier print run (a late print_failed after the reprint, say).
        log.info(
            "report %s for old serial %s of card %s ignored",
            report.status,
            report.card_serial,
            card.card_id,
        )
        return False
    verdict = lifecycle.judge(card.status, report.status)
    if verdict is Verdict.REPEAT:
        return False
    if verdict is Verdict.IMPOSSIBLE:
        raise ImpossibleTransition(
            f"A card that is {card.status} cannot become {report.status}.",
            extra={"card_status": card.status},
        )
    if verdict is Verdict.AHEAD:
        raise NotYetPossible(
            f"A card that is {card.status} cannot become {report.status} yet.",
            extra={"card_status": card.status},
        )
    if report.status == lifecycle.PRINTED and report.bank_account:
        account = masked_bank_account(report.bank_account)
        for warning in account.warnings:
            log.warning("card %s: %s", card.card_id, warning)
        card.bank_account_masked = account.masked
    card.status = report.status
    card.reason = report.reason if report.status == lifecycle.PRINT_FAILED else None
    card.updated_at = utcnow()
    _record(uow, card, report.status, report.source, report.occurred_at, report.reason)
    uow.add_event(
        f"card.{report.status}",
        {
            "card_id": card.card_id,
            "application_id": card.application_id,
            "account_id": card.account_id,
            "bank_code": card.bank_code,
            "outlet_id": card.outlet_id,
            "card_serial": card.card_serial,
            "reason": report.reason,
            "occurred_at": format_time(report.occurred_at),
        },
        subject=card.card_id,
        correlation_id=card.application_id,
    )
    return True


def _record(
    uow: UnitOfWork,
    card: Card,
    status: str,
    source: str,
    occurred_at: datetime,
    reason: str | None,
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
        )
    )
