"""registry_face_match with the real face images (tests/data/faces) and the real identity
registry simulator: the registry's photo on file is the authority both uploaded faces are
compared with, so an impostor's own face never passes, however well their uploads agree."""

from __future__ import annotations

import base64

import requests

from services.verification import dao
from shared.errors import TransientError
from shared.messaging.consumer import Outcome
from tests.support import images
from tests.verification.factories import person


def checks_of(verification, application_id: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        name: (row.outcome, tuple(row.codes or ()))
        for name, row in verification.checks(application_id).items()
    }


def test_an_impostors_card_photo_with_a_matching_fake_id_card_is_never_approved(verification):
    # Obama's name and ID number (leaked), Obama's photo on file; the impostor uploads his own
    # face (biden) and a forged ID card with his own face on it (biden2): the two uploads
    # agree with each other, and neither is the person on file.
    entry = verification.applicant(on_file="obama")
    event = verification.submitted(
        entry, photo=images.card_photo("biden"), id_card_front=images.id_card_front("biden2")
    )
    verification.verify(event)

    application_id = event.data["application_id"]
    found = checks_of(verification, application_id)
    assert found["id_card_face_match"] == ("pass", ())  # the forgery fools the old check
    assert found["registry_face_match"] == (
        "fail",
        ("registry_face_mismatch_photo", "registry_face_mismatch_id_card"),
    )
    case = verification.case(application_id)
    assert case.status == "rejected"
    assert [e["type"] for e in verification.outcome_events(application_id)] == [
        "verification.rejected"
    ]
    assert "verification.approved" not in str(verification.outcome_events(application_id))


def test_the_real_person_is_approved(verification):
    # The citizen's own card photo (obama), another photo of them on the ID card (obama2),
    # and their photo on file (obama).
    entry = verification.applicant(on_file="obama")
    event = verification.submitted(
        entry, photo=images.card_photo("obama"), id_card_front=images.id_card_front("obama2")
    )
    verification.verify(event)

    application_id = event.data["application_id"]
    assert set(checks_of(verification, application_id).values()) == {("pass", ())}
    row = verification.checks(application_id)["registry_face_match"]
    assert "card photo ↔ photo on file" in row.detail
    assert "ID card image ↔ photo on file" in row.detail
    assert verification.case(application_id).status == "approved"


def test_the_real_person_with_another_photo_on_file_is_approved(verification):
    # The registry's photo is an older one of the person (obama2); the card photo is new.
    entry = verification.applicant(on_file="obama2")
    event = verification.submitted(
        entry, photo=images.card_photo("obama"), id_card_front=images.id_card_front("obama2")
    )
    verification.verify(event)

    application_id = event.data["application_id"]
    assert checks_of(verification, application_id)["registry_face_match"] == ("pass", ())
    assert verification.case(application_id).status == "approved"


def test_no_photo_on_file_goes_to_a_reviewer(verification):
    # Created through the simulator's own API with `photo_base64: null`: nobody's photo.
    entry = person()
    requests.post(
        verification.registry.url + "/registry/v1/people",
        json={**entry, "photo_base64": None},
        timeout=5,
    ).raise_for_status()
    event = verification.submitted(
        entry, photo=images.card_photo("obama"), id_card_front=images.id_card_front("obama2")
    )
    verification.verify(event)

    application_id = event.data["application_id"]
    found = checks_of(verification, application_id)
    assert found["registry_face_match"] == ("review", ("registry_photo_missing",))
    assert {outcome for outcome, _ in found.values()} == {"pass", "review"}
    assert verification.case(application_id).status == "pending"
    [review] = verification.outcome_events(application_id)
    assert review["type"] == "verification.review_required"
    assert "registry_face_match" in {check["check"] for check in review["data"]["checks"]}


def test_a_photo_on_file_without_a_face_goes_to_a_reviewer(verification):
    entry = verification.applicant(on_file=None)
    verification.registry.add(entry, images.no_face_photo())
    event = verification.submitted(entry)
    verification.verify(event)

    application_id = event.data["application_id"]
    found = checks_of(verification, application_id)
    assert found["registry_face_match"] == ("review", ("registry_photo_no_face",))
    assert verification.case(application_id).status == "pending"


def test_the_photo_on_file_unreachable_is_retried_and_the_case_stays_checking(verification):
    entry = verification.applicant()
    event = verification.submitted(entry)
    verification.deliver(event)
    application_id = event.data["application_id"]
    started = verification.started(application_id)
    registry = verification.deps.registry
    get_photo = registry.get_photo

    def unreachable(_id_number: str) -> bytes:
        raise TransientError("identity registry unreachable (ConnectionError)")

    registry.get_photo = unreachable  # the person was found; the photo's request fails
    try:
        assert verification.deliver(started).outcome is Outcome.RETRY
        assert verification.case(application_id).status == "checking"
    finally:
        registry.get_photo = get_photo
    assert verification.deliver(started, retries=1).outcome is Outcome.HANDLED
    assert verification.case(application_id).status == "approved"


def test_a_reviewer_sees_the_photo_on_file_and_each_view_is_audited(
    verification, api, token_authority
):
    entry = verification.applicant(on_file="obama")
    event = verification.submitted(
        entry, photo=images.card_photo("biden"), id_card_front=images.id_card_front("biden2")
    )
    verification.verify(event)
    case = verification.case(event.data["application_id"])
    path = f"/api/v1/cases/{case.case_id}/registry-photo"
    reviewer = token_authority.reviewer("rev-1")

    for _ in range(2):
        response = api.get(path, headers=reviewer)
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.data == images.card_photo("obama")
        assert response.headers["Cache-Control"] == "private, no-store"
    with verification.database.session_factory() as session:
        audit = dao.dao_get_audit(session, case.case_id)
    assert [(a.actor, a.action) for a in audit] == [("rev-1", "viewed_registry_photo")] * 2

    listed = api.get(f"/api/v1/reviews/{case.case_id}", headers=reviewer).get_json()
    assert listed["links"]["registry_photo"] == path
    face = next(c for c in listed["checks"] if c["check"] == "registry_face_match")
    assert face["outcome"] == "fail" and "photo on file" in face["detail"]

    for outsider in (token_authority.citizen("x"), token_authority.admin()):
        assert api.get(path, headers=outsider).status_code == 403
    assert api.get(path).status_code == 401


def test_no_photo_on_file_is_a_404_for_the_reviewer(verification, api, token_authority):
    entry = verification.applicant(on_file=None)
    event = verification.submitted(entry)
    verification.verify(event)
    case = verification.case(event.data["application_id"])
    reviewer = token_authority.reviewer("rev-1")

    response = api.get(f"/api/v1/cases/{case.case_id}/registry-photo", headers=reviewer)
    assert response.status_code == 404
    with verification.database.session_factory() as session:
        assert dao.dao_get_audit(session, case.case_id) == []


def test_the_photo_on_file_is_what_was_posted_to_the_registry(verification):
    # The simulator's API stores what it is given: the photo a reviewer sees is that one.
    entry = person()
    photo = images.card_photo("obama2")
    requests.post(
        verification.registry.url + "/registry/v1/people",
        json={**entry, "photo_base64": base64.b64encode(photo).decode()},
        timeout=5,
    ).raise_for_status()
    assert verification.deps.registry.get_photo(entry["id_number"]) == photo
