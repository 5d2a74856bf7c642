"""How a case looks to a reviewer or an admin: its checks, the applicant with the ID number
masked, and links to the images this service serves."""

from __future__ import annotations

from flask import url_for

from services.verification.domain.rules import FILE_KINDS
from services.verification.models import CaseCheck, VerificationCase
from shared.time import format_time


def case_view(case: VerificationCase, checks: list[CaseCheck]) -> dict:
    view = {
        "case_id": case.case_id,
        "application_id": case.application_id,
        "account_id": case.account_id,
        "acceptance_number": case.acceptance_number,
        "status": case.status,
        "outlet_id": case.outlet_id,
        "bank_code": case.bank_code,
        "applicant": {
            "name": case.applicant_name,
            "gender": case.applicant_gender,
            "birth_date": case.applicant_birth_date,
            "id_number_masked": case.id_number_masked,
        },
        "checks": [
            {"check": c.check, "outcome": c.outcome, "detail": c.detail, "codes": c.codes or []}
            for c in checks
        ],
        "created_at": format_time(case.created_at),
        "decided_at": format_time(case.decided_at) if case.decided_at else None,
        "decided_by": case.decided_by,
        "decision_reason": case.decision_reason,
    }
    if case.files:
        view["links"] = {
            kind: url_for("reviews.review_file", case_id=case.case_id, kind=kind)
            for kind in FILE_KINDS
        }
        view["links"]["registry_photo"] = url_for("cases.registry_photo", case_id=case.case_id)
    return view
