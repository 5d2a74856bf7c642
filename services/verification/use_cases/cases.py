"""A case's life on the worker: open a case for a submitted application and verify it (two
steps, two transactions: `verifying` is a status the citizen sees), withdraw a cancelled
application, follow its card's life. Each tolerates duplicates, lateness and reordering."""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy.orm import Session

from services.verification import dao
from services.verification.adapters.imaging import ID_CARD, PHOTO
from services.verification.deps import ID_NUMBER_COLUMN, Dependencies
from services.verification.domain import checks
from services.verification.domain.checks import Applicant, RegistryAnswer, Verdict
from services.verification.domain.rules import FILE_KINDS
from services.verification.domain.status import BACKLOG_STATUSES, SYSTEM, CaseStatus
from services.verification.models import CaseCheck, VerificationCase
from services.verification.use_cases.faces import analyse_images
from services.verification.use_cases.outcomes import identity, publish_verdict, routing
from shared.db.uow import UnitOfWork
from shared.errors import NotFound, TransientError
from shared.personal_data.protection import mask_id_number
from shared.time import utcnow

log = logging.getLogger(__name__)

LIVE_CARD_EVENTS = ("card.collected", "card.activated")


# -- application.submitted ------------------------------------------------------------------------
def open_case(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    application_id: str,
    account_id: str,
    acceptance_number: str | None,
    outlet_id: str,
    bank_code: str,
    applicant: dict,
    files: dict[str, dict],
) -> VerificationCase | None:
    """Opens the case for a submitted application and announces it (`verification.started`,
    which moves the application to `verifying`); the checks run when that event comes back to
    this service (`verify_case`), in a transaction of their own. Nothing happens for an
    application that already has a case (a second delivery, or a cancellation that arrived
    first). `applicant` holds its name, gender, birth_date and id_number as submitted."""
    session = uow.session
    if dao.dao_get_case_by_application(session, application_id) is not None:
        log.info("application %s already has a case; nothing to do", application_id)
        return None
    id_number = applicant["id_number"].strip().upper()
    case = dao.dao_create_case(
        session,
        VerificationCase(
            application_id=application_id,
            account_id=account_id,
            status=CaseStatus.CHECKING,
            acceptance_number=acceptance_number,
            outlet_id=outlet_id,
            bank_code=bank_code,
            applicant_name=applicant["name"],
            applicant_gender=applicant["gender"],
            applicant_birth_date=str(applicant["birth_date"])[:10],
            id_number_encrypted=deps.cipher.encrypt(id_number, column=ID_NUMBER_COLUMN),
            id_number_index=deps.cipher.blind_index(id_number, column=ID_NUMBER_COLUMN),
            id_number_masked=mask_id_number(id_number),
            files={kind: files[kind] for kind in FILE_KINDS},
            created_at=utcnow(),
        ),
    )
    uow.add_event("verification.started", identity(case), **routing(case))
    return case


# -- verification.started --------------------------------------------------------------------------
def verify_case(uow: UnitOfWork, deps: Dependencies, *, case_id: str) -> VerificationCase | None:
    """Runs every check on an opened case and records its outcome. Nothing happens for a case
    that is no longer being checked: decided by an earlier delivery, or cancelled."""
    session = uow.session
    case = dao.dao_get_case(session, case_id)
    if case is None or case.status != CaseStatus.CHECKING:
        log.info("case %s is not being checked; nothing to do", case_id)
        return None
    applicant = Applicant(
        name=case.applicant_name,
        gender=case.applicant_gender,
        birth_date=case.applicant_birth_date,
        id_number=deps.cipher.decrypt(case.id_number_encrypted, column=ID_NUMBER_COLUMN),
    )
    # The cheap, flaky call first: while the registry is down, retries cost nothing else.
    registry = ask_registry(uow, deps, applicant)
    contents = {kind: deps.files.fetch(case.files[kind]) for kind in FILE_KINDS}
    # The photo on file is analysed like a card photo, by its digest: when the citizen chose
    # it as the card photo, it is the same image, analysed once.
    on_file = [(registry.photo, PHOTO)] if registry.photo is not None else []
    photo, id_card_front, *registry_photo = analyse_images(
        uow, deps, [(contents["photo"], PHOTO), (contents["id_card_front"], ID_CARD), *on_file]
    )
    other_claim = dao.dao_other_active_claim(session, case.id_number_index, case.application_id)
    results = checks.run_checks(
        applicant,
        registry,
        photo,
        id_card_front,
        registry_photo[0] if registry_photo else None,
        other_claim_exists=other_claim is not None,
        rules=deps.rules,
        today=date.today(),
    )
    verdict = checks.decide(results)
    # The case leaves `checking` in one conditional UPDATE, before any claim is taken: of a
    # second delivery checking alongside, or a cancellation, exactly one gets past it.
    if not dao.dao_end_checks(session, case.case_id, **_outcome(verdict)):
        log.info("case %s was decided or cancelled while being checked", case.case_id)
        return None
    session.refresh(case)
    if verdict.outcome == checks.APPROVED and not dao.dao_take_claim(session, case):
        # Another application for this person was approved between our look and our claim.
        verdict = checks.decide(checks.replace_result(results, checks.duplicate_result()))
        dao.dao_end_checks(
            session, case.case_id, **_outcome(verdict), from_status=CaseStatus.APPROVED
        )
        session.refresh(case)
    dao.dao_record_checks(session, case.case_id, verdict.results)
    publish_verdict(uow, case, verdict)
    return case


def ask_registry(uow: UnitOfWork, deps: Dependencies, applicant: Applicant) -> RegistryAnswer:
    """The registry's answer: the person, and their photo on file (the authority the faces are
    compared with). While the registry is down the message is retried with the consumer's
    growing delays; on the last try the case goes to review instead — a fault is never a
    rejection. A person found whose photo could not be fetched is kept: only the faces wait
    for a reviewer."""
    person = None
    try:
        person = deps.registry.get_person(applicant.id_number)
        photo = deps.registry.get_photo(applicant.id_number) if person is not None else None
        return RegistryAnswer(person=person, photo=photo)
    except TransientError as exc:
        if uow.delivery_retries < uow.retry_budget:
            raise
        log.warning("identity registry still unavailable after %d retries", uow.delivery_retries)
        why = f"{exc}, {uow.delivery_retries + 1} attempts"
        if person is not None:
            return RegistryAnswer(person=person, photo_unavailable=why)
        return RegistryAnswer(unavailable=why)


def _outcome(verdict: Verdict) -> dict:
    """What the checks' verdict makes of the case: decided by the system, or waiting for a
    reviewer (`pending`, undecided)."""
    if verdict.outcome == checks.APPROVED:
        return {"status": CaseStatus.APPROVED, "decided_by": SYSTEM, "reason": None}
    if verdict.outcome == checks.REJECTED:
        reasons = "; ".join(reason.code for reason in verdict.reasons)
        return {"status": CaseStatus.REJECTED, "decided_by": SYSTEM, "reason": reasons}
    return {"status": CaseStatus.PENDING, "decided_by": None, "reason": None}


# -- application.cancelled -----------------------------------------------------------------------
def withdraw_application(
    uow: UnitOfWork, deps: Dependencies, *, application_id: str, account_id: str
) -> None:
    """The citizen cancelled: the case leaves the queue and the person's claim is released.
    A cancellation that overtook its submission leaves a tombstone the submission will find."""
    session = uow.session
    case = dao.dao_get_case_by_application(session, application_id)
    if case is None:
        dao.dao_create_case(
            session,
            VerificationCase(
                application_id=application_id,
                account_id=account_id,
                status=CaseStatus.CANCELLED,
                created_at=utcnow(),
                cancelled_at=utcnow(),
            ),
        )
        return
    dao.dao_release_claim(session, application_id, "application_cancelled")
    if case.status != CaseStatus.CANCELLED:
        case.status = CaseStatus.CANCELLED
        case.cancelled_at = utcnow()


# -- card.* ----------------------------------------------------------------------------------------
def follow_card(
    uow: UnitOfWork, deps: Dependencies, *, card_event: str, application_id: str, card_id: str
) -> None:
    """A live card keeps its holder claimed for good; a card on its way (printing, a failed
    print awaiting its reprint, shipping) keeps the claim pending. Events may arrive late or
    out of order: a claim only ever moves forward, from pending to live."""
    if card_event in LIVE_CARD_EVENTS:
        dao.dao_mark_claim_live(uow.session, application_id, card_id)
    else:
        dao.dao_note_card(uow.session, application_id, card_id)


# -- reads ---------------------------------------------------------------------------------------
def get_case_by_application(
    session: Session, *, application_id: str
) -> tuple[VerificationCase, list[CaseCheck]]:
    """The application's case and every check; NotFound when it has none (yet)."""
    case = dao.dao_get_case_by_application(session, application_id)
    if case is None:
        raise NotFound("This application has no verification case.")
    return case, dao.dao_get_checks(session, [case.case_id])[case.case_id]


def case_backlog(session: Session) -> dict[str, tuple[int, datetime | None]]:
    """Cases being checked and waiting for a reviewer: status → (how many, when the oldest
    was opened), with (0, None) for a status that has none."""
    backlog = dao.dao_case_backlog(session, BACKLOG_STATUSES)
    return {status: backlog.get(status, (0, None)) for status in BACKLOG_STATUSES}
