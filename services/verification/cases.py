"""The verification service's use cases: verify a submitted application, decide a case a
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
def verify_application(uow: UnitOfWork, data: dict, deps: Dependencies) -> VerificationCase | None:
    """Runs every check on a submitted application and records the case and its outcome.
    Nothing happens for an application that already has a case (a second delivery, or a
    cancellation that arrived first)."""
    session = uow.session
    application_id = str(data["application_id"])
    if dao.dao_get_case_by_application(session, application_id) is not None:
        log.info("application %s already has a case; nothing to do", application_id)
        return None
    raw = data["applicant"]
    applicant = Applicant(
        name=raw["name"],
        gender=raw["gender"],
        birth_date=str(raw["birth_date"])[:10],
        id_number=raw["id_number"].strip().upper(),
    )
    # The cheap, flaky call first: while the registry is down, retries cost nothing else.
    registry = ask_registry(uow, applicant, deps)
    files = {kind: data["files"][kind] for kind in FILE_KINDS}
    contents = {kind: fetch_claimed_file(files[kind], deps.tokens) for kind in FILE_KINDS}
    photo, id_card_front = analyse(
        uow, deps, [(contents["photo"], PHOTO), (contents["id_card_front"], ID_CARD)]
    )

    id_index = deps.cipher.blind_index(applicant.id_number, column=ID_NUMBER_COLUMN)
    other_claim = dao.dao_other_active_claim(session, id_index, application_id) is not None
    results = checks.run_checks(
        applicant,
        registry,
        photo,
        id_card_front,
        other_claim_exists=other_claim,
        rules=deps.rules,
        today=date.today(),
    )
    case = dao.dao_create_case(
        session,
        VerificationCase(
            application_id=application_id,
            account_id=str(data["account_id"]),
            status=PENDING,
            acceptance_number=data.get("acceptance_number"),
            outlet_id=str(data["outlet_id"]),
            bank_code=data["bank_code"],
            applicant_name=applicant.name,
            applicant_gender=applicant.gender,
            applicant_birth_date=applicant.birth_date,
            id_number_encrypted=deps.cipher.encrypt(applicant.id_number, column=ID_NUMBER_COLUMN),
            id_number_index=id_index,
            id_number_masked=mask_id_number(applicant.id_number),
            files=files,
            created_at=utcnow(),
        ),
    )
    verdict = checks.decide(results)
    if verdict.outcome == checks.APPROVED and not dao.dao_take_claim(session, case):
        # Another application for this person was approved between our look and our claim.
        results = checks.replace_result(results, checks.duplicate_result())
        verdict = checks.decide(results)
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
    then the database, then the analyser (the missing ones at once)."""
    keys = [(hashlib.sha256(data).hexdigest(), analyser_version(kind)) for data, kind in images]
    found: dict[int, dict] = {}
    for index, (digest, version) in enumerate(keys):
        cached = deps.memo.get(f"{digest}/{version}") or dao.dao_get_face_analysis(
            uow.session, digest, version
        )
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
    for index, (digest, version) in enumerate(keys):
        deps.memo.put(f"{digest}/{version}", found[index])
    return [facts_from_json(found[index]) for index in range(len(images))]


def _publish_verdict(uow: UnitOfWork, case: VerificationCase, verdict: Verdict) -> None:
    base = {
        "application_id": case.application_id,
        "account_id": case.account_id,
        "case_id": case.case_id,
    }
    if verdict.outcome == checks.APPROVED:
        _close_case(case, APPROVED, SYSTEM, None)
        uow.add_event("verification.approved", {**base, "decided_by": None}, **_routing(case))
    elif verdict.outcome == checks.REJECTED:
        _close_case(case, REJECTED, SYSTEM, _reasons_text(verdict.reasons))
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


def _close_case(case: VerificationCase, status: str, by: str, reason: str | None) -> None:
    case.status = status
    case.decided_by = by
    case.decided_at = utcnow()
    case.decision_reason = reason


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
