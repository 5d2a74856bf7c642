"""The events that tell the other services how a case went, decided by the checks or by a
reviewer: each is about the application, and correlated by it."""

from __future__ import annotations

from services.verification.domain import checks
from services.verification.domain.checks import Reason, Verdict
from services.verification.models import VerificationCase
from shared.db.uow import UnitOfWork


def routing(case: VerificationCase) -> dict:
    return {"subject": case.application_id, "correlation_id": case.application_id}


def identity(case: VerificationCase) -> dict:
    return {
        "application_id": case.application_id,
        "account_id": case.account_id,
        "case_id": case.case_id,
    }


def publish_verdict(uow: UnitOfWork, case: VerificationCase, verdict: Verdict) -> None:
    """The checks' outcome: approved or rejected by the system, or a reviewer is needed."""
    base = identity(case)
    if verdict.outcome == checks.APPROVED:
        uow.add_event("verification.approved", {**base, "decided_by": None}, **routing(case))
    elif verdict.outcome == checks.REJECTED:
        uow.add_event(
            "verification.rejected",
            {**base, "reasons": [r.to_dict() for r in verdict.reasons], "decided_by": None},
            **routing(case),
        )
    else:
        uow.add_event(
            "verification.review_required",
            {**base, "checks": [r.to_dict() for r in verdict.results]},
            **routing(case),
        )


def publish_decision(
    uow: UnitOfWork, case: VerificationCase, *, approved: bool, reviewer: str, reason: str | None
) -> None:
    """A reviewer's decision."""
    base = {**identity(case), "decided_by": reviewer}
    if approved:
        uow.add_event("verification.approved", base, **routing(case))
    else:
        uow.add_event(
            "verification.rejected",
            {**base, "reasons": [Reason("reviewer_rejected", reason or "").to_dict()]},
            **routing(case),
        )
