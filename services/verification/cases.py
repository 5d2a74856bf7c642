"""The verification service's use cases: open a case for a submitted application and verify
it (two steps, two transactions: `verifying` is a status the citizen sees), decide a case a
reviewer looked at, withdraw a cancelled application, follow its card's life. Each runs inside
the caller's unit of work (a consumer's transaction, or a request's) and commits nothing.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

from services.verification import dao
from services.verification.dependencies import ID_NUMBER_COLUMN, Dependencies
from services.verification.domain import checks
from services.verification.domain.checks import (
    Applicant,
    ImageFacts,
    Reason,
    RegistryAnswer,
    Verdict,
)
from services.verification.imaging import (
    ID_CARD,
    PHOTO,
    analyser_version,
    facts_from_json,
    facts_to_json,
)
from services.verification.models import (
    APPROVED,
    CANCELLED,
    CHECKING,
    PENDING,
    REJECTED,
    VerificationCase,
)
from shared.claim_check import fetch_claimed_file
from shared.db import utcnow
from shared.errors import Conflict, TransientError
from shared.pii import mask_id_number
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

SYSTEM = "system"
FILE_KINDS = ("photo", "id_card_front", "id_card_back")


class DuplicateIdentity(Conflict):
    """Approving would give a second pending or live card to one person."""


# -- application.submitted ------------------------------------------------------------------------
def open_case(uow: UnitOfWork, data: dict, deps: Dependencies) -> VerificationCase | None:
    """Opens the case for a submitted application and announces it (`verification.started`,
    which moves the application to `verifying`); the checks run when that event comes back to
    this service (`verify_case`), in a transaction of their own. Nothing happens for an
    application that already has a case (a second delivery, or a cancellation that arrived
    first)."""
    session = uow.session
    application_id = str(data["application_id"])
    if dao.dao_get_case_by_application(session, application_id) is not None:
        log.info("application %s already has a case; nothing to do", application_id)
        return None
    raw = data["applicant"]
    id_number = raw["id_number"].strip().upper()
    case = dao.dao_create_case(
        session,
        VerificationCase(
            application_id=application_id,
            account_id=str(data["account_id"]),
            status=CHECKING,
            acceptance_number=data.get("acceptance_number"),
            outlet_id=str(data["outlet_id"]),
            bank_code=data["bank_code"],
            applicant_name=raw["name"],
            applicant_gender=raw["gender"],
            applicant_birth_date=str(raw["birth_date"])[:10],
            id_number_encrypted=deps.cipher.encrypt(id_number, column=ID_NUMBER_COLUMN),
            id_number_index=deps.cipher.blind_index(id_number, column=ID_NUMBER_COLUMN),
            id_number_masked=mask_id_number(id_number),
            files={kind: data["files"][kind] for kind in FILE_KINDS},
            created_at=utcnow(),
        ),
    )
    uow.add_event("verification.started", _identity(case), **_routing(case))
    return case


# -- verification.started --------------------------------------------------------------------------
def verify_case(uow: UnitOfWork, data: dict, deps: Dependencies) -> VerificationCase | None:
    """Runs every check on an opened case and records its outcome. Nothing happens for a case
    that is no longer being checked: decided by an earlier delivery, or cancelled."""
    session = uow.session
    case = dao.dao_get_case(session, str(data["case_id"]))
    if case is None or case.status != CHECKING:
        log.info("case %s is not being checked; nothing to do", data["case_id"])
        return None
    applicant = Applicant(
        name=case.applicant_name,
        gender=case.applicant_gender,
        birth_date=case.applicant_birth_date,
        id_number=deps.cipher.decrypt(case.id_number_encrypted, column=ID_NUMBER_COLUMN),
    )
    # The cheap, flaky call first: while the registry is down, retries cost nothing else.
    registry = ask_registry(uow, applicant, deps)
    files = case.files
    contents = {kind: fetch_claimed_file(files[kind], deps.tokens) for kind in FILE_KINDS}
    photo, id_card_front = analyse(
        uow, deps, [(contents["photo"], PHOTO), (contents["id_card_front"], ID_CARD)]
    )
    other_claim = (
        dao.dao_other_active_claim(session, case.id_number_index, case.application_id) is not None
    )
    results = checks.run_checks(
        applicant,
        registry,
        photo,
        id_card_front,
        other_claim_exists=other_claim,
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
        results = checks.replace_result(results, checks.duplicate_result())
        verdict = checks.decide(results)
        dao.dao_end_checks(session, case.case_id, **_outcome(verdict), from_status=APPROVED)
        session.refresh(case)
    dao.dao_record_checks(session, case.case_id, verdict.results)
    _publish_verdict(uow, case, verdict)
    return case


def ask_registry(uow: UnitOfWork, applicant: Applicant, deps: Dependencies) -> RegistryAnswer:
    """The registry's answer. While the registry is down the message is retried with the
    consumer's growing delays; on the last try the case goes to review instead — a fault is
    never a rejection."""
    try:
        return RegistryAnswer(person=deps.registry.get_person(applicant.id_number))
    except TransientError as exc:
        if uow.delivery_retries < uow.retry_budget:
            raise
        log.warning("identity registry still unavailable after %d retries", uow.delivery_retries)
        return RegistryAnswer(unavailable=f"{exc}, {uow.delivery_retries + 1} attempts")


def analyse(
    uow: UnitOfWork, deps: Dependencies, images: list[tuple[bytes, str]]
) -> list[ImageFacts]:
    """Face analyses of (content, kind) pairs by image digest and kind: this process's memo,
    then the database, then the analyser (the missing ones at once). An analysis older than
    the face cache's retention is not reused from either: the image is analysed again."""
    keys = [(hashlib.sha256(data).hexdigest(), analyser_version(kind)) for data, kind in images]
    memo_keys = [f"{digest}/{version}" for digest, version in keys]
    not_before = utcnow() - deps.face_cache.retention
    found: dict[int, dict] = {}
    for index, (digest, version) in enumerate(keys):
        cached = deps.memo.get(memo_keys[index])
        if cached is None:
            row = dao.dao_get_face_analysis(uow.session, digest, version, not_before=not_before)
            if row is not None:
                # With the time it was made: the memo must not keep it past the retention.
                cached = row.result
                deps.memo.put(memo_keys[index], cached, analysed_at=row.created_at)
        if cached is not None:
            found[index] = cached
    missing = [index for index in range(len(images)) if index not in found]
    if missing:
        analysed = deps.analyser.analyse(
            [images[i][0] for i in missing], [images[i][1] for i in missing]
        )
        for index, facts in zip(missing, analysed, strict=True):
            found[index] = facts_to_json(facts)
            dao.dao_store_face_analysis(uow.session, *keys[index], found[index])
            deps.memo.put(memo_keys[index], found[index])
    return [facts_from_json(found[index]) for index in range(len(images))]


def _outcome(verdict: Verdict) -> dict:
    """What the checks' verdict makes of the case: decided by the system, or waiting for a
    reviewer (`pending`, undecided)."""
    if verdict.outcome == checks.APPROVED:
        return {"status": APPROVED, "decided_by": SYSTEM, "reason": None}
    if verdict.outcome == checks.REJECTED:
        return {"status": REJECTED, "decided_by": SYSTEM, "reason": _reasons_text(verdict.reasons)}
    return {"status": PENDING, "decided_by": None, "reason": None}


def _identity(case: VerificationCase) -> dict:
    return {
        "application_id": case.application_id,
        "account_id": case.account_id,
        "case_id": case.case_id,
    }


def _publish_verdict(uow: UnitOfWork, case: VerificationCase, verdict: Verdict) -> None:
    base = _identity(case)
    if verdict.outcome == checks.APPROVED:
        uow.add_event("verification.approved", {**base, "decided_by": None}, **_routing(case))
    elif verdict.outcome == checks.REJECTED:
        uow.add_event(
            "verification.rejected",
            {**base, "reasons": [r.to_dict() for r in verdict.reasons], "decided_by": None},
            **_routing(case),
        )
    else:
        uow.add_event(
            "verification.review_required",
            {**base, "checks": [r.to_dict() for r in verdict.results]},
            **_routing(case),
        )


def _routing(case: VerificationCase) -> dict:
    return {"subject": case.application_id, "correlation_id": case.application_id}


def _reasons_text(reasons) -> str:
    return "; ".join(reason.code for reason in reasons)


# -- a reviewer's decision -----------------------------------------------------------------------
def decide_case(
    uow: UnitOfWork, case: VerificationCase, *, approve: bool, reviewer: str, reason: str | None
) -> VerificationCase:
    """Once only: the conditional UPDATE lets exactly one decision through. An approval must
    still win the person's claim, or nothing changes."""
    session = uow.session
    status = APPROVED if approve else REJECTED
    if not dao.dao_decide_case(
        session, case.case_id, status=status, decided_by=reviewer, reason=reason
    ):
        session.refresh(case)
        if case.status == CHECKING:
            raise Conflict("This case's checks are still running; decide it once they are done.")
        raise Conflict(f"This case is already {case.status}; a case is decided once.")
    session.refresh(case)
    base = {
        "application_id": case.application_id,
        "account_id": case.account_id,
        "case_id": case.case_id,
        "decided_by": reviewer,
    }
    if approve:
        if not dao.dao_take_claim(session, case):
            raise DuplicateIdentity(
                "Another application for this ID number is approved or its card is live "
                "(one person, one card); this case cannot be approved. Reject it instead.",
                extra={"code": "duplicate_application"},
            )
        uow.add_event("verification.approved", base, **_routing(case))
    else:
        uow.add_event(
            "verification.rejected",
            {**base, "reasons": [Reason("reviewer_rejected", reason or "").to_dict()]},
            **_routing(case),
        )
    return case


# -- application.cancelled -----------------------------------------------------------------------
def withdraw_application(uow: UnitOfWork, data: dict) -> None:
    """The citizen cancelled: the case leaves the queue and the person's claim is released.
    A cancellation that overtook its submission leaves a tombstone the submission will find."""
    session = uow.session
    application_id = str(data["application_id"])
    case = dao.dao_get_case_by_application(session, application_id)
    if case is None:
        dao.dao_create_case(
            session,
            VerificationCase(
                application_id=application_id,
                account_id=str(data["account_id"]),
                status=CANCELLED,
                created_at=utcnow(),
                cancelled_at=utcnow(),
            ),
        )
        return
    dao.dao_release_claim(session, application_id, "application_cancelled")
    if case.status != CANCELLED:
        case.status = CANCELLED
        case.cancelled_at = utcnow()


# -- card.* ----------------------------------------------------------------------------------------
LIVE_CARD_EVENTS = ("card.collected", "card.activated")


def follow_card(uow: UnitOfWork, event_type: str, data: dict) -> None:
    """A live card keeps its holder claimed for good; a card on its way (printing, a failed
    print awaiting its reprint, shipping) keeps the claim pending. Events may arrive late or
    out of order: a claim only ever moves forward, from pending to live."""
    application_id = str(data["application_id"])
    card_id = str(data["card_id"])
    if event_type in LIVE_CARD_EVENTS:
        dao.dao_mark_claim_live(uow.session, application_id, card_id)
    else:
        dao.dao_note_card(uow.session, application_id, card_id)
