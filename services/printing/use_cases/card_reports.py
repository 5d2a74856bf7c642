"""Applying the status reports of banks (over AMQP) and bank operators (over REST) to cards:
each one moves the card, repeats what it went through, or is refused."""

from __future__ import annotations

import logging

from services.printing.dao import dao_get_card, dao_get_card_serial
from services.printing.domain import lifecycle
from services.printing.domain.bank_accounts import masked_bank_account
from services.printing.domain.lifecycle import CardStatus, Verdict
from services.printing.domain.reports import ImpossibleTransition, NotYetPossible, StatusReport
from services.printing.models import Card
from services.printing.use_cases.cards import (
    CardDetails,
    card_details,
    record_history,
    visible_card,
)
from shared.db.uow import UnitOfWork
from shared.errors import PermanentMessageError
from shared.time import format_time, utcnow

log = logging.getLogger(__name__)


def report_card_status(
    uow: UnitOfWork, *, card_id: str, visible_to_bank: str | None, report: StatusReport
) -> CardDetails:
    """A bank operator's report: applied, or a repeat that changes nothing. NotFound for a card
    the operator may not see; ImpossibleTransition or NotYetPossible (409) when the card cannot
    take that status (now)."""
    card = visible_card(uow.session, card_id, visible_to_bank, for_update=True)
    apply_status_report(uow, card, report)
    uow.session.flush()
    return card_details(uow.session, card)


def record_bank_report(
    uow: UnitOfWork, *, bank_code: str, card_id: str, report: StatusReport
) -> bool:
    """A bank's report about one of its cards; False when it changes nothing (a repeat)."""
    card = dao_get_card(uow.session, card_id, for_update=True)
    # Another bank's card is refused exactly like a card that does not exist, so a bank learns
    # nothing about cards that are not its own.
    if card is None or card.bank_code != bank_code:
        raise PermanentMessageError(f"bank {bank_code} has no card {card_id}")
    return apply_status_report(uow, card, report)


def apply_status_report(uow: UnitOfWork, card: Card, report: StatusReport) -> bool:
    """Applies one report to a card loaded for update; False when it changes nothing (a
    repeat). Raises ImpossibleTransition or NotYetPossible (both 409 over REST)."""
    if report.card_serial is not None and report.card_serial != card.card_serial:
        return _about_an_earlier_print_run(uow, card, report)
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
    if report.status == CardStatus.PRINTED and report.bank_account:
        account = masked_bank_account(report.bank_account)
        for warning in account.warnings:
            log.warning("card %s: %s", card.card_id, warning)
        card.bank_account_masked = account.masked
    card.status = report.status
    card.reason = report.reason if report.status == CardStatus.PRINT_FAILED else None
    card.updated_at = utcnow()
    record_history(uow, card, report.status, report.source, report.occurred_at, report.reason)
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


def _about_an_earlier_print_run(uow: UnitOfWork, card: Card, report: StatusReport) -> bool:
    """A report naming another serial: ignored when it is an earlier print run of this card (a
    late print_failed after the reprint, say), ImpossibleTransition otherwise."""
    earlier = dao_get_card_serial(uow.session, report.card_serial)
    if earlier is None or earlier.card_id != card.card_id:
        raise ImpossibleTransition(
            f"{report.card_serial} is not a serial of this card.",
            extra={"card_status": card.status},
        )
    log.info(
        "report %s for old serial %s of card %s ignored",
        report.status,
        report.card_serial,
        card.card_id,
    )
    return False
