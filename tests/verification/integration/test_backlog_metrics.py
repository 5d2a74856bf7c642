"""The verification backlog on `/metrics`: cases being checked and cases waiting for a reviewer,
with the age of the oldest of each, read from the database at scrape time."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from services.verification import models
from shared.time import utcnow
from tests.support import images


def figures(api) -> dict[tuple[str, str], float]:
    text = api.get("/metrics").get_data(as_text=True)
    found = re.findall(
        r'^(sscard_verification_(?:cases|oldest_case_age_seconds))\{status="(\w+)"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    return {(name, status): float(value) for name, status, value in found}


def test_an_empty_backlog_reads_zero(verification, api):
    assert figures(api) == {
        ("sscard_verification_cases", "checking"): 0.0,
        ("sscard_verification_cases", "pending"): 0.0,
        ("sscard_verification_oldest_case_age_seconds", "checking"): 0.0,
        ("sscard_verification_oldest_case_age_seconds", "pending"): 0.0,
    }


def test_cases_being_checked_and_waiting_for_review_are_counted_with_the_oldest_age(
    verification, api
):
    waiting = [verification.submitted(verification.applicant()) for _ in range(2)]
    for event in waiting:
        verification.deliver(event)  # opened; the checks have not run
    review = verification.submitted(
        verification.applicant(), photo=images.card_photo("obama", face_width=150)
    )
    verification.verify(review)
    verification.verify(verification.submitted(verification.applicant()))  # approved: neither
    # The first case has been waiting for ten minutes (its worker's queue is stuck, say).
    first = verification.case(waiting[0].data["application_id"])
    with verification.database.session_factory() as session:
        session.execute(
            update(models.VerificationCase)
            .where(models.VerificationCase.case_id == first.case_id)
            .values(created_at=utcnow() - timedelta(minutes=10))
        )
        session.commit()

    seen = figures(api)

    assert seen[("sscard_verification_cases", "checking")] == 2.0
    assert seen[("sscard_verification_cases", "pending")] == 1.0
    assert 600 <= seen[("sscard_verification_oldest_case_age_seconds", "checking")] < 660
    assert 0 <= seen[("sscard_verification_oldest_case_age_seconds", "pending")] < 60
