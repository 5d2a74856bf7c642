"""Data access for the verification service: `dao_<verb>_<noun>()` functions on a session.
None of them commits; the unit of work around them does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.verification.domain.checks import CheckResult
from services.verification.domain.status import CaseStatus, ClaimState
from services.verification.models import (
    CaseCheck,
    FaceAnalysisRow,
    IdentityClaim,
    ReviewAudit,
    VerificationCase,
)
from shared.db.engine import is_postgresql
from shared.time import utcnow


# -- cases -------------------------------------------------------------------------------------
def dao_get_case(session: Session, case_id: str) -> VerificationCase | None:
    return session.get(VerificationCase, case_id)


def dao_get_case_by_application(session: Session, application_id: str) -> VerificationCase | None:
    return session.execute(
        select(VerificationCase).where(VerificationCase.application_id == application_id)
    ).scalar_one_or_none()


def dao_create_case(session: Session, case: VerificationCase) -> VerificationCase:
    session.add(case)
    session.flush()
    return case


def dao_record_checks(session: Session, case_id: str, results: Sequence[CheckResult]) -> None:
    """The checks of a case just created (recorded once, with the case: one insert)."""
    now = utcnow()
    session.add_all(
        CaseCheck(
            case_id=case_id,
            check=result.check,
            position=position,
            outcome=result.outcome,
            codes=result.codes,
            detail=result.detail,
            recorded_at=now,
        )
        for position, result in enumerate(results)
    )
    session.flush()


def dao_get_checks(session: Session, case_ids: Sequence[str]) -> dict[str, list[CaseCheck]]:
    by_case: dict[str, list[CaseCheck]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return by_case
    rows = session.execute(
        select(CaseCheck)
        .where(CaseCheck.case_id.in_(list(case_ids)))
        .order_by(CaseCheck.case_id, CaseCheck.position)
    ).scalars()
    for row in rows:
        by_case[row.case_id].append(row)
    return by_case


def dao_list_cases(session: Session, status: str, *, limit: int) -> list[VerificationCase]:
    """Oldest first: the review queue is worked in arrival order."""
    return list(
        session.execute(
            select(VerificationCase)
            .where(VerificationCase.status == status)
            .order_by(VerificationCase.created_at, VerificationCase.case_id)
            .limit(limit)
        ).scalars()
    )


def dao_decide_case(
    session: Session,
    case_id: str,
    *,
    status: str,
    decided_by: str,
    reason: str | None,
    from_status: str = CaseStatus.PENDING,
) -> bool:
    """Moves a case out of `from_status`; False when it was not (or no longer) in it. The
    condition is in the UPDATE itself, so of two concurrent decisions exactly one wins."""
    result = session.execute(
        update(VerificationCase)
        .where(VerificationCase.case_id == case_id, VerificationCase.status == from_status)
        .values(status=status, decided_by=decided_by, decision_reason=reason, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def dao_end_checks(
    session: Session,
    case_id: str,
    *,
    status: str,
    decided_by: str | None,
    reason: str | None,
    from_status: str = CaseStatus.CHECKING,
) -> bool:
    """Gives a case its checks' outcome: decided (approved, rejected) or waiting for a reviewer
    (pending, with no decision yet). False when the case was no longer in `from_status`; the
    condition is in the UPDATE, so of a second delivery and a cancellation only one wins."""
    decided_at = None if status == CaseStatus.PENDING else utcnow()
    result = session.execute(
        update(VerificationCase)
        .where(VerificationCase.case_id == case_id, VerificationCase.status == from_status)
        .values(status=status, decided_by=decided_by, decision_reason=reason, decided_at=decided_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def dao_case_backlog(session: Session, statuses: Sequence[str]) -> dict[str, tuple[int, datetime]]:
    """status → (how many cases, when the oldest was opened), for the statuses that have any."""
    rows = session.execute(
        select(VerificationCase.status, func.count(), func.min(VerificationCase.created_at))
        .where(VerificationCase.status.in_(statuses))
        .group_by(VerificationCase.status)
    )
    return {status: (count, oldest) for status, count, oldest in rows}


# -- claims: one person, one card ---------------------------------------------------------------
def dao_other_active_claim(
    session: Session, id_number_index: str, application_id: str
) -> IdentityClaim | None:
    return session.execute(
        select(IdentityClaim).where(
            IdentityClaim.id_number_index == id_number_index,
            IdentityClaim.active.is_(True),
            IdentityClaim.application_id != application_id,
        )
    ).scalar_one_or_none()


def dao_take_claim(session: Session, case: VerificationCase) -> bool:
    """Claims the person for this case's application; False when another application holds
    them. The partial unique index decides, inside a savepoint so the losing transaction can
    carry on and record a rejection instead."""
    try:
        with session.begin_nested():
            session.add(
                IdentityClaim(
                    id_number_index=case.id_number_index,
                    application_id=case.application_id,
                    case_id=case.case_id,
                    state=ClaimState.PENDING,
                    active=True,
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        return False
    return True


def dao_release_claim(session: Session, application_id: str, reason: str) -> bool:
    result = session.execute(
        update(IdentityClaim)
        .where(IdentityClaim.application_id == application_id, IdentityClaim.active.is_(True))
        .values(active=False, released_at=utcnow(), release_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount > 0


def dao_mark_claim_live(session: Session, application_id: str, card_id: str) -> bool:
    result = session.execute(
        update(IdentityClaim)
        .where(
            IdentityClaim.application_id == application_id,
            IdentityClaim.active.is_(True),
            IdentityClaim.state == ClaimState.PENDING,
        )
        .values(state=ClaimState.LIVE, card_id=card_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount > 0


def dao_note_card(session: Session, application_id: str, card_id: str) -> None:
    session.execute(
        update(IdentityClaim)
        .where(IdentityClaim.application_id == application_id, IdentityClaim.card_id.is_(None))
        .values(card_id=card_id)
        .execution_options(synchronize_session=False)
    )


def dao_get_claim(session: Session, application_id: str) -> IdentityClaim | None:
    return session.execute(
        select(IdentityClaim).where(IdentityClaim.application_id == application_id)
    ).scalar_one_or_none()


# -- audit -------------------------------------------------------------------------------------
def dao_record_audit(
    session: Session, case_id: str, *, actor: str, actor_roles: Sequence[str], action: str
) -> None:
    session.add(
        ReviewAudit(
            case_id=case_id,
            actor=actor,
            actor_roles=",".join(actor_roles),
            action=action,
            at=utcnow(),
        )
    )
    session.flush()


def dao_get_audit(session: Session, case_id: str) -> list[ReviewAudit]:
    return list(
        session.execute(
            select(ReviewAudit)
            .where(ReviewAudit.case_id == case_id)
            .order_by(ReviewAudit.at, ReviewAudit.audit_id)
        ).scalars()
    )


# -- face analyses, by image digest ---------------------------------------------------------------
def dao_get_face_analysis(
    session: Session, sha256: str, analyser: str, *, not_before: datetime
) -> FaceAnalysisRow | None:
    """The stored analysis, unless it was made before `not_before` (past the retention: the
    image is analysed again rather than an old biometric template reused)."""
    row = session.get(FaceAnalysisRow, (sha256, analyser))
    return row if row is not None and row.created_at >= not_before else None


def dao_store_face_analysis(session: Session, sha256: str, analyser: str, result: dict) -> None:
    """Stores an analysis just made. One already stored for the image is replaced: it can only
    be an expired one, or the same result stored meanwhile by another consumer."""
    insert = (pg_insert if is_postgresql(session) else sqlite_insert)(FaceAnalysisRow).values(
        sha256=sha256, analyser=analyser, result=result, created_at=utcnow()
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[FaceAnalysisRow.sha256, FaceAnalysisRow.analyser],
            set_={"result": insert.excluded.result, "created_at": insert.excluded.created_at},
        )
    )


def dao_delete_expired_face_analyses(session: Session, made_before: datetime, *, limit: int) -> int:
    """Deletes up to `limit` analyses made before `made_before`; how many. Rows another
    transaction holds (a consumer storing a fresh analysis over an expired one, or another
    worker's purge) are skipped, not waited for."""
    expired = (
        select(FaceAnalysisRow.sha256, FaceAnalysisRow.analyser)
        .where(FaceAnalysisRow.created_at < made_before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = session.execute(
        delete(FaceAnalysisRow)
        .where(
            tuple_(FaceAnalysisRow.sha256, FaceAnalysisRow.analyser).in_(expired),
            # Checked again on the row itself: one refreshed since the look is kept.
            FaceAnalysisRow.created_at < made_before,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
