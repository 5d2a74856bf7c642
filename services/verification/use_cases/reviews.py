"""The manual review queue: reviewers list the cases waiting for them, look at one and at its
images, and decide it once. Every look and every decision is audited, in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy.orm import Session

from services.verification import dao
from services.verification.deps import ID_NUMBER_COLUMN, Dependencies
from services.verification.domain.errors import DuplicateIdentity, FileGone, FileUnavailable
from services.verification.domain.rules import FILE_KINDS
from services.verification.domain.status import CaseStatus
from services.verification.models import CaseCheck, VerificationCase
from services.verification.use_cases.outcomes import publish_decision
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, NotFound, PermanentMessageError
from shared.messaging.claim_check import ClaimedFileGone


class CaseWithChecks(NamedTuple):
    case: VerificationCase
    checks: list[CaseCheck]


class CaseFile(NamedTuple):
    content: bytes
    content_type: str


def _case_or_404(session: Session, case_id: str) -> VerificationCase:
    case = dao.dao_get_case(session, case_id)
    if case is None:
        raise NotFound("No such case.")
    return case


def _with_checks(session: Session, case: VerificationCase) -> CaseWithChecks:
    return CaseWithChecks(case, dao.dao_get_checks(session, [case.case_id])[case.case_id])


def list_cases(session: Session, *, status: str, limit: int) -> list[CaseWithChecks]:
    """Cases in one status, oldest first (the queue is worked in arrival order)."""
    found = dao.dao_list_cases(session, status, limit=limit)
    checks = dao.dao_get_checks(session, [case.case_id for case in found])
    return [CaseWithChecks(case, checks[case.case_id]) for case in found]


def view_case(
    uow: UnitOfWork, deps: Dependencies, *, case_id: str, actor: str, actor_roles: Sequence[str]
) -> CaseWithChecks:
    """One case with its checks; the look is audited."""
    case = _case_or_404(uow.session, case_id)
    dao.dao_record_audit(
        uow.session, case.case_id, actor=actor, actor_roles=actor_roles, action="viewed"
    )
    return _with_checks(uow.session, case)


def read_case_file(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    case_id: str,
    kind: str,
    actor: str,
    actor_roles: Sequence[str],
) -> CaseFile:
    """One of the case's images, fetched from the application service by its claim check;
    the look is audited once the image is in hand."""
    case = _case_or_404(uow.session, case_id)
    if not case.files or kind not in FILE_KINDS:
        raise NotFound("This case has no such file.")
    reference = case.files[kind]
    try:
        content = deps.files.fetch(reference)
    except ClaimedFileGone:
        raise FileGone(
            "The application service no longer keeps this image (the images of a rejected "
            "or cancelled application are deleted after their retention)."
        ) from None
    except PermanentMessageError as exc:
        raise FileUnavailable(str(exc)) from None
    dao.dao_record_audit(
        uow.session, case.case_id, actor=actor, actor_roles=actor_roles, action=f"viewed_{kind}"
    )
    return CaseFile(content, reference["content_type"])


def read_registry_photo(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    case_id: str,
    actor: str,
    actor_roles: Sequence[str],
) -> bytes:
    """The applicant's photo on file in the identity registry (JPEG), asked of the registry
    now: the authority `registry_face_match` compared the faces with, for a reviewer to see
    beside the uploaded images. NotFound when the case or the photo does not exist; the
    registry unreachable is a TransientError (503). Each look is audited once the photo is in
    hand."""
    case = _case_or_404(uow.session, case_id)
    if case.id_number_encrypted is None:  # a cancellation's tombstone: nobody to look up
        raise NotFound("This case has no applicant.")
    id_number = deps.cipher.decrypt(case.id_number_encrypted, column=ID_NUMBER_COLUMN)
    photo = deps.registry.get_photo(id_number)
    if photo is None:
        raise NotFound("The identity registry has no photo on file for this applicant.")
    dao.dao_record_audit(
        uow.session,
        case.case_id,
        actor=actor,
        actor_roles=actor_roles,
        action="viewed_registry_photo",
    )
    return photo


def decide_case(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    case_id: str,
    approve: bool,
    reason: str | None,
    actor: str,
    actor_roles: Sequence[str],
) -> CaseWithChecks:
    """Once only: the conditional UPDATE lets exactly one decision through. An approval must
    still win the person's claim, or nothing changes. The decision is audited."""
    session = uow.session
    case = _case_or_404(session, case_id)
    uow.correlation_id = case.application_id
    status = CaseStatus.APPROVED if approve else CaseStatus.REJECTED
    if not dao.dao_decide_case(
        session, case.case_id, status=status, decided_by=actor, reason=reason
    ):
        session.refresh(case)
        if case.status == CaseStatus.CHECKING:
            raise Conflict("This case's checks are still running; decide it once they are done.")
        raise Conflict(f"This case is already {case.status}; a case is decided once.")
    session.refresh(case)
    if approve and not dao.dao_take_claim(session, case):
        raise DuplicateIdentity(
            "Another application for this ID number is approved or its card is live "
            "(one person, one card); this case cannot be approved. Reject it instead.",
            extra={"code": "duplicate_application"},
        )
    publish_decision(uow, case, approved=approve, reviewer=actor, reason=reason)
    dao.dao_record_audit(
        session, case.case_id, actor=actor, actor_roles=actor_roles, action=f"decided_{case.status}"
    )
    return _with_checks(session, case)
