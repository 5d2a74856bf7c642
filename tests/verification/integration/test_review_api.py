"""The manual review API: the queue, a case and its images, one decision per case, the audit
trail, and who may do what."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import select

from services.verification import models
from tests.support import images

PROBLEM = "application/problem+json"


def review_case(verification) -> tuple[str, dict]:
    """A case waiting for a reviewer: the face on the photo is smaller than the rules allow."""
    entry = verification.applicant()
    event = verification.submitted(entry, photo=images.card_photo("obama", face_width=150))
    verification.verify(event)
    case = verification.case(event.data["application_id"])
    assert case.status == "pending"
    return case.case_id, entry


def audit(verification, case_id: str) -> list[tuple[str, str]]:
    with verification.database.session_factory() as session:
        rows = session.execute(
            select(models.ReviewAudit)
            .where(models.ReviewAudit.case_id == case_id)
            .order_by(models.ReviewAudit.at)
        ).scalars()
        return [(row.actor, row.action) for row in rows]


def test_the_queue_lists_pending_cases_oldest_first_with_their_checks(
    verification, api, token_authority
):
    first, _ = review_case(verification)
    second, _ = review_case(verification)
    verification.verify(verification.submitted(verification.applicant()))  # approved

    response = api.get("/api/v1/reviews?status=pending", headers=token_authority.reviewer())

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["case_id"] for item in items] == [first, second]
    checks = {c["check"]: c for c in items[0]["checks"]}
    assert checks["photo_single_face"]["outcome"] == "review"
    assert checks["photo_single_face"]["codes"] == ["photo_face_width"]
    assert len(checks) == 7
    admin = api.get("/api/v1/reviews", headers=token_authority.admin())
    assert [item["case_id"] for item in admin.get_json()["items"]] == [first, second]


def test_a_case_shows_masked_identity_links_to_its_images_and_is_audited(
    verification, api, token_authority
):
    case_id, entry = review_case(verification)
    reviewer = str(uuid.uuid4())

    response = api.get(f"/api/v1/reviews/{case_id}", headers=token_authority.reviewer(reviewer))

    assert response.status_code == 200
    body = response.get_json()
    assert body["applicant"]["id_number_masked"] == (
        entry["id_number"][:6] + "********" + entry["id_number"][-4:]
    )
    assert entry["id_number"] not in response.get_data(as_text=True)
    assert set(body["links"]) == {"photo", "id_card_front", "id_card_back", "registry_photo"}
    photo = api.get(body["links"]["photo"], headers=token_authority.reviewer(reviewer))
    assert photo.status_code == 200
    assert photo.mimetype == "image/jpeg"
    assert photo.data == images.card_photo("obama", face_width=150)
    front = api.get(body["links"]["id_card_front"], headers=token_authority.reviewer(reviewer))
    assert (front.mimetype, front.data) == ("image/png", images.id_card_front("obama2"))
    assert audit(verification, case_id) == [
        (reviewer, "viewed"),
        (reviewer, "viewed_photo"),
        (reviewer, "viewed_id_card_front"),
    ]


def test_a_case_is_decided_once(verification, api, token_authority):
    case_id, _ = review_case(verification)
    reviewer = str(uuid.uuid4())
    application_id = api.get(
        f"/api/v1/reviews/{case_id}", headers=token_authority.reviewer()
    ).get_json()["application_id"]

    approved = api.post(
        f"/api/v1/reviews/{case_id}/decision",
        json={"decision": "approve", "reason": "Face size is fine on closer look."},
        headers=token_authority.reviewer(reviewer),
    )
    again = api.post(
        f"/api/v1/reviews/{case_id}/decision",
        json={"decision": "reject", "reason": "Changed my mind."},
        headers=token_authority.reviewer(),
    )

    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    assert approved.get_json()["decided_by"] == reviewer
    assert again.status_code == 409
    assert again.mimetype == PROBLEM
    events = verification.outcome_events(application_id)
    assert [e["type"] for e in events] == [
        "verification.review_required",
        "verification.approved",
    ]
    assert events[1]["data"]["decided_by"] == reviewer
    assert events[1]["correlationid"] == application_id
    assert (reviewer, "decided_approved") in audit(verification, case_id)
    assert verification.case(application_id).status == "approved"


def test_two_reviewers_deciding_at_once_get_one_200_and_one_409(verification, api, token_authority):
    case_id, _ = review_case(verification)
    statuses = []
    start = threading.Barrier(2)

    def decide(decision: str) -> None:
        start.wait(5)
        response = api.post(
            f"/api/v1/reviews/{case_id}/decision",
            json={"decision": decision, "reason": "checked"},
            headers=token_authority.reviewer(),
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=decide, args=(d,)) for d in ("approve", "reject")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses) == [200, 409]
    outcomes = [
        e["type"]
        for e in verification.outcome_events()
        if e["type"] in ("verification.approved", "verification.rejected")
    ]
    assert len(outcomes) == 1


def test_a_rejection_carries_the_reviewers_reason(verification, api, token_authority):
    case_id, _ = review_case(verification)

    response = api.post(
        f"/api/v1/reviews/{case_id}/decision",
        json={"decision": "reject", "reason": "The photo is of someone else."},
        headers=token_authority.reviewer(),
    )

    assert response.status_code == 200
    application_id = response.get_json()["application_id"]
    rejected = verification.outcome_events(application_id)[-1]
    assert rejected["type"] == "verification.rejected"
    assert rejected["data"]["reasons"] == [
        {"code": "reviewer_rejected", "detail": "The photo is of someone else."}
    ]


def test_bad_decisions_are_refused_and_change_nothing(verification, api, token_authority):
    case_id, _ = review_case(verification)
    url = f"/api/v1/reviews/{case_id}/decision"
    headers = token_authority.reviewer()

    no_reason = api.post(url, json={"decision": "reject"}, headers=headers)
    unknown = api.post(url, json={"decision": "maybe", "reason": "x"}, headers=headers)
    malformed = api.post(url, data="{", content_type="application/json", headers=headers)
    missing = api.post(
        f"/api/v1/reviews/{uuid.uuid4()}/decision", json={"decision": "approve"}, headers=headers
    )

    assert no_reason.status_code == 422
    assert "reason" in no_reason.get_json()["errors"]
    assert unknown.status_code == 422
    assert malformed.status_code == 400
    assert missing.status_code == 404
    for response in (no_reason, unknown, malformed, missing):
        assert response.mimetype == PROBLEM
    assert verification.case(verification.case_by_id(case_id).application_id).status == "pending"


def test_approving_a_second_card_for_one_person_is_refused(verification, api, token_authority):
    entry = verification.applicant()
    waiting = verification.submitted(entry, photo=images.card_photo("obama", face_width=150))
    verification.verify(waiting)
    # Meanwhile another application for the same person passes every check.
    verification.verify(verification.submitted(entry))
    case = verification.case(waiting.data["application_id"])
    assert verification.checks(case.application_id)["not_duplicate"].outcome == "pass"

    response = api.post(
        f"/api/v1/reviews/{case.case_id}/decision",
        json={"decision": "approve"},
        headers=token_authority.reviewer(),
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "duplicate_application"
    assert verification.case(case.application_id).status == "pending"


def test_cases_by_application_for_reviewers_and_admins(verification, api, token_authority):
    event = verification.submitted(verification.applicant())
    verification.verify(event)
    application_id = event.data["application_id"]

    for headers in (token_authority.reviewer(), token_authority.admin()):
        response = api.get(f"/api/v1/cases?application_id={application_id}", headers=headers)
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "approved"
        assert [c["check"] for c in body["checks"]] == [
            "id_number_valid",
            "identity_registry_match",
            "photo_format",
            "photo_single_face",
            "id_card_face_match",
            "registry_face_match",
            "not_duplicate",
        ]
        assert all(set(c) >= {"check", "outcome", "detail"} for c in body["checks"])
    unknown = api.get(f"/api/v1/cases?application_id={uuid.uuid4()}", headers=headers)
    assert unknown.status_code == 404
    invalid = api.get("/api/v1/cases?application_id=nope", headers=headers)
    assert invalid.status_code == 422
    assert api.get("/api/v1/cases", headers=headers).status_code == 422


def _every_review_endpoint(case_id: str, application_id: str):
    yield "GET", "/api/v1/reviews?status=pending", None
    yield "GET", f"/api/v1/reviews/{case_id}", None
    for kind in ("photo", "id_card_front", "id_card_back"):
        yield "GET", f"/api/v1/reviews/{case_id}/files/{kind}", None
    yield "GET", f"/api/v1/cases/{case_id}/registry-photo", None
    yield "POST", f"/api/v1/reviews/{case_id}/decision", {"decision": "approve"}
    yield "GET", f"/api/v1/cases?application_id={application_id}", None


def test_citizens_bank_operators_and_integrators_get_403_everywhere(
    verification, api, token_authority
):
    case_id, _ = review_case(verification)
    application_id = verification.case_by_id(case_id).application_id
    outsiders = {
        "citizen": token_authority.citizen(str(uuid.uuid4())),
        "bank operator": token_authority.bank_operator("ICBC"),
        "integrator": token_authority.integrator(),
    }

    for who, headers in outsiders.items():
        for method, url, body in _every_review_endpoint(case_id, application_id):
            response = api.open(url, method=method, json=body, headers=headers)
            assert response.status_code == 403, (who, method, url)
            assert response.mimetype == PROBLEM
    for method, url, body in _every_review_endpoint(case_id, application_id):
        assert api.open(url, method=method, json=body).status_code == 401, (method, url)
    assert verification.case_by_id(case_id).status == "pending"
    assert audit(verification, case_id) == []


def test_admins_read_but_neither_decide_nor_open_images(verification, api, token_authority):
    case_id, _ = review_case(verification)
    headers = token_authority.admin()

    assert api.get(f"/api/v1/reviews/{case_id}", headers=headers).status_code == 200
    assert api.get(f"/api/v1/reviews/{case_id}/files/photo", headers=headers).status_code == 403
    registry_photo = api.get(f"/api/v1/cases/{case_id}/registry-photo", headers=headers)
    assert registry_photo.status_code == 403
    decision = api.post(
        f"/api/v1/reviews/{case_id}/decision", json={"decision": "approve"}, headers=headers
    )
    assert decision.status_code == 403


def test_an_image_the_application_service_cannot_give_is_a_clear_error(
    verification, api, token_authority
):
    case_id, _ = review_case(verification)
    with verification.database.session_factory() as session:
        case = session.get(models.VerificationCase, case_id)
        files = dict(case.files)
        files["photo"] = {**files["photo"], "url": "http://127.0.0.1:9/internal/v1/files/x"}
        files["id_card_back"] = {**files["id_card_back"], "sha256": "0" * 64}
        case.files = files
        session.commit()

    # The application service has deleted this one (a closed application's retention).
    del verification.files.files[files["id_card_front"]["sha256"]]
    headers = token_authority.reviewer()

    # A claim check naming somewhere other than the application service is never fetched.
    foreign = api.get(f"/api/v1/reviews/{case_id}/files/photo", headers=headers)
    tampered = api.get(f"/api/v1/reviews/{case_id}/files/id_card_back", headers=headers)
    deleted = api.get(f"/api/v1/reviews/{case_id}/files/id_card_front", headers=headers)
    unknown_kind = api.get(f"/api/v1/reviews/{case_id}/files/selfie", headers=headers)

    assert (foreign.status_code, foreign.mimetype) == (502, PROBLEM)
    assert (tampered.status_code, tampered.mimetype) == (502, PROBLEM)
    assert (deleted.status_code, deleted.mimetype) == (410, PROBLEM)
    assert "no longer keeps" in deleted.get_json()["detail"]
    assert (unknown_kind.status_code, unknown_kind.mimetype) == (404, PROBLEM)


def test_a_case_still_being_checked_waits_outside_the_queue_and_cannot_be_decided(
    verification, api, token_authority
):
    event = verification.submitted(verification.applicant())
    verification.deliver(event)  # opened; its checks have not run
    case = verification.case(event.data["application_id"])
    reviewer = token_authority.reviewer()

    pending = api.get("/api/v1/reviews", headers=reviewer).get_json()["items"]
    checking = api.get("/api/v1/reviews?status=checking", headers=reviewer).get_json()["items"]
    response = api.post(
        f"/api/v1/reviews/{case.case_id}/decision", json={"decision": "approve"}, headers=reviewer
    )

    assert case.case_id not in [item["case_id"] for item in pending]
    assert [item["case_id"] for item in checking] == [case.case_id]
    assert checking[0]["checks"] == []
    assert response.status_code == 409
    assert "still running" in response.get_json()["detail"]
    assert verification.case(case.application_id).status == "checking"
