"""The verification service's use cases on its real tables in memory, with fake adapters: a
case opened and checked, the registry down, one person one card, a reviewer's decision, a
cancellation and a card's life. No broker, no server, no face models."""

from __future__ import annotations

import pytest

from services.verification import dao
from services.verification.deps import Dependencies
from services.verification.domain.errors import DuplicateIdentity, FileGone
from services.verification.domain.status import CaseStatus, ClaimState
from services.verification.use_cases import cases, reviews
from shared.db.tables import new_id
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, NotFound, TransientError
from shared.personal_data.protection import mask_id_number
from tests.verification.factories import face_facts, memory_deps, person

REVIEWER = {"actor": "reviewer-1", "actor_roles": ("reviewer",)}


@pytest.fixture
def deps():
    deps = memory_deps()
    yield deps
    deps.database.dispose()


def uow_of(deps: Dependencies, *, retries: int = 0, budget: int = 3) -> UnitOfWork:
    uow = UnitOfWork(deps.database, "verification")
    uow.delivery_retries, uow.retry_budget = retries, budget
    return uow


def submit(
    deps: Dependencies,
    entry: dict | None = None,
    *,
    photo_at: float = 0.0,
    on_file_at: float | None = 0.0,
    **ids,
) -> str | None:
    """Opens a case for a fresh application by `entry` (a fresh registered person unless
    told), whose card photo's face sits `photo_at` from the ID card's, and the registry's
    photo on file `on_file_at` from the ID card's (None: no photo on file); its case id."""
    entry = entry or deps.registry.add(person())
    photo = f"photo {entry['id_number']} {photo_at}".encode()
    front = f"front {entry['id_number']}".encode()
    deps.analyser.facts[photo] = face_facts(photo_at)
    deps.analyser.facts[front] = face_facts(0.0, photo=False)
    if on_file_at is None:
        deps.registry.photos.pop(entry["id_number"], None)
    else:
        on_file = f"on file {entry['id_number']} {on_file_at}".encode()
        deps.analyser.facts[on_file] = face_facts(on_file_at, photo=False)
        deps.registry.photos[entry["id_number"]] = on_file
    with uow_of(deps) as uow:
        case = cases.open_case(
            uow,
            deps,
            application_id=ids.get("application_id") or new_id(),
            account_id=ids.get("account_id") or new_id(),
            acceptance_number="A1234567",
            outlet_id=new_id(),
            bank_code="ICBC",
            applicant={**entry, "id_number": f" {entry['id_number'].lower()} "},
            files={
                "photo": deps.files.put(photo),
                "id_card_front": deps.files.put(front, "image/png"),
                "id_card_back": deps.files.put(b"back", "image/png"),
            },
        )
        uow.commit()
        return case.case_id if case is not None else None


def verify(deps: Dependencies, case_id: str, **retries) -> list[str]:
    """Runs the checks, as the worker does on `verification.started`; the events added."""
    with uow_of(deps, **retries) as uow:
        cases.verify_case(uow, deps, case_id=case_id)
        uow.commit()
        return [event.type for event in uow.events]


def case_of(deps: Dependencies, case_id: str):
    with deps.database.session_factory() as session:
        return dao.dao_get_case(session, case_id)


def claim_of(deps: Dependencies, case_id: str):
    case = case_of(deps, case_id)
    with deps.database.session_factory() as session:
        return dao.dao_get_claim(session, case.application_id)


def test_a_submission_opens_one_case_announced_once(deps):
    entry = deps.registry.add(person())
    application_id = new_id()
    first = submit(deps, entry, application_id=application_id)
    case = case_of(deps, first)
    assert case.status == CaseStatus.CHECKING
    assert case.id_number_masked == mask_id_number(entry["id_number"])
    assert (
        deps.cipher.decrypt(case.id_number_encrypted, column="verification_cases.id_number")
        == (entry["id_number"])
    )
    with uow_of(deps) as uow:
        again = cases.open_case(
            uow,
            deps,
            application_id=application_id,
            account_id="x",
            acceptance_number=None,
            outlet_id="o",
            bank_code="ICBC",
            applicant=entry,
            files={},
        )
        assert again is None and uow.events == []


def test_a_case_whose_checks_all_pass_is_approved_and_claims_its_person(deps):
    case_id = submit(deps)

    assert verify(deps, case_id) == ["verification.approved"]
    case = case_of(deps, case_id)
    assert (case.status, case.decided_by) == (CaseStatus.APPROVED, "system")
    assert claim_of(deps, case_id).state == ClaimState.PENDING
    with deps.database.session_factory() as session:
        checks = dao.dao_get_checks(session, [case_id])[case_id]
    assert {row.outcome for row in checks} == {"pass"}
    assert verify(deps, case_id) == []  # a second delivery changes nothing


def test_an_uncertain_face_match_waits_for_a_reviewer(deps):
    case_id = submit(deps, photo_at=0.55)

    assert verify(deps, case_id) == ["verification.review_required"]
    assert case_of(deps, case_id).status == CaseStatus.PENDING
    assert claim_of(deps, case_id) is None


def test_a_registry_outage_is_retried_then_sent_to_review_on_the_last_try(deps):
    case_id = submit(deps)
    deps.registry.down = True

    with pytest.raises(TransientError):
        verify(deps, case_id, retries=1, budget=3)
    assert case_of(deps, case_id).status == CaseStatus.CHECKING
    assert verify(deps, case_id, retries=3, budget=3) == ["verification.review_required"]
    assert case_of(deps, case_id).status == CaseStatus.PENDING


def test_a_card_photo_of_someone_else_than_the_person_on_file_is_rejected(deps):
    # The card photo and the ID card image agree (both another person's), the registry's
    # photo on file does not.
    case_id = submit(deps, photo_at=0.0, on_file_at=0.8)

    assert verify(deps, case_id) == ["verification.rejected"]
    case = case_of(deps, case_id)
    assert case.status == CaseStatus.REJECTED
    assert case.decision_reason == "registry_face_mismatch_photo; registry_face_mismatch_id_card"
    assert claim_of(deps, case_id) is None


def test_no_photo_on_file_sends_the_case_to_a_reviewer_never_to_approval(deps):
    case_id = submit(deps, on_file_at=None)

    assert verify(deps, case_id) == ["verification.review_required"]
    assert case_of(deps, case_id).status == CaseStatus.PENDING
    with deps.database.session_factory() as session:
        checks = {row.check: row for row in dao.dao_get_checks(session, [case_id])[case_id]}
    assert checks["registry_face_match"].outcome == "review"
    assert checks["registry_face_match"].codes == ["registry_photo_missing"]


def test_the_photo_on_file_unreachable_is_retried_like_the_person(deps):
    case_id = submit(deps)
    deps.registry.photos_down = True

    with pytest.raises(TransientError):
        verify(deps, case_id, retries=0, budget=3)
    assert case_of(deps, case_id).status == CaseStatus.CHECKING
    assert verify(deps, case_id, retries=3, budget=3) == ["verification.review_required"]
    with deps.database.session_factory() as session:
        checks = {row.check: row for row in dao.dao_get_checks(session, [case_id])[case_id]}
    assert checks["registry_face_match"].codes == ["registry_photo_unavailable"]
    # The person was found: the registry match is decided as usual.
    assert checks["identity_registry_match"].outcome == "pass"


def test_the_registry_photo_is_served_to_a_reviewer_and_each_view_audited(deps):
    entry = deps.registry.add(person())
    case_id = submit(deps, entry)
    with uow_of(deps) as uow:
        found = reviews.read_registry_photo(uow, deps, case_id=case_id, **REVIEWER)
        uow.commit()
    assert found == deps.registry.photos[entry["id_number"]]
    with deps.database.session_factory() as session:
        assert [a.action for a in dao.dao_get_audit(session, case_id)] == ["viewed_registry_photo"]
    deps.registry.photos.clear()
    with uow_of(deps) as uow, pytest.raises(NotFound):
        reviews.read_registry_photo(uow, deps, case_id=case_id, **REVIEWER)
    with uow_of(deps) as uow, pytest.raises(NotFound):
        reviews.read_registry_photo(uow, deps, case_id=new_id(), **REVIEWER)


def test_faces_are_analysed_once_per_image(deps):
    entry = deps.registry.add(person())
    first = submit(deps, entry)
    verify(deps, first)
    with uow_of(deps) as uow:
        application_id = case_of(deps, first).application_id
        cases.withdraw_application(uow, deps, application_id=application_id, account_id="x")
        uow.commit()
    second = submit(deps, entry)  # the same images again

    assert verify(deps, second) == ["verification.approved"]
    assert deps.analyser.batches == [["photo", "id_card", "photo"]]  # the last: on file


def test_a_second_application_for_one_person_is_rejected_as_a_duplicate(deps):
    entry = deps.registry.add(person())
    verify(deps, submit(deps, entry))
    second = submit(deps, entry)

    assert verify(deps, second) == ["verification.rejected"]
    case = case_of(deps, second)
    assert (case.status, case.decision_reason) == (CaseStatus.REJECTED, "duplicate_application")


def test_a_reviewer_decides_a_pending_case_once_and_is_audited(deps):
    case_id = submit(deps, photo_at=0.55)
    verify(deps, case_id)

    with uow_of(deps) as uow:
        decided = reviews.decide_case(
            uow, deps, case_id=case_id, approve=True, reason=None, **REVIEWER
        )
        uow.commit()
        assert decided.case.status == CaseStatus.APPROVED and len(decided.checks) == 7
        assert [event.type for event in uow.events] == ["verification.approved"]
        assert uow.events[0].data["decided_by"] == "reviewer-1"
    assert case_of(deps, case_id).status == CaseStatus.APPROVED
    assert claim_of(deps, case_id).active
    with deps.database.session_factory() as session:
        assert [a.action for a in dao.dao_get_audit(session, case_id)] == ["decided_approved"]
    with uow_of(deps) as uow, pytest.raises(Conflict, match="already approved"):
        reviews.decide_case(uow, deps, case_id=case_id, approve=False, reason="no", **REVIEWER)


def test_a_reviewer_cannot_approve_a_second_card_for_one_person(deps):
    entry = deps.registry.add(person())
    verify(deps, submit(deps, entry))
    waiting = submit(deps, entry, photo_at=0.55)
    verify(deps, waiting)  # rejected as a duplicate already: make it wait for a reviewer
    with deps.database.session_factory() as session, session.begin():
        case = dao.dao_get_case(session, waiting)
        case.status, case.decided_by, case.decision_reason = CaseStatus.PENDING, None, None

    with uow_of(deps) as uow, pytest.raises(DuplicateIdentity):
        reviews.decide_case(uow, deps, case_id=waiting, approve=True, reason=None, **REVIEWER)


def test_a_case_file_gone_from_the_application_service_is_a_410(deps):
    case_id = submit(deps)
    with uow_of(deps) as uow:
        found = reviews.read_case_file(uow, deps, case_id=case_id, kind="photo", **REVIEWER)
        assert found.content.startswith(b"photo ") and found.content_type == "image/jpeg"
    deps.files.files.clear()
    with uow_of(deps) as uow, pytest.raises(FileGone):
        reviews.read_case_file(uow, deps, case_id=case_id, kind="photo", **REVIEWER)
    with uow_of(deps) as uow, pytest.raises(NotFound):
        reviews.read_case_file(uow, deps, case_id=new_id(), kind="photo", **REVIEWER)


def test_a_cancellation_releases_the_claim_and_one_ahead_of_its_submission_leaves_a_tombstone(
    deps,
):
    case_id = submit(deps)
    verify(deps, case_id)
    application_id, early = case_of(deps, case_id).application_id, new_id()
    with uow_of(deps) as uow:
        cases.withdraw_application(uow, deps, application_id=application_id, account_id="x")
        cases.withdraw_application(uow, deps, application_id=early, account_id="y")
        uow.commit()

    assert case_of(deps, case_id).status == CaseStatus.CANCELLED
    assert not claim_of(deps, case_id).active
    assert submit(deps, application_id=early) is None  # the late one finds the tombstone
    with deps.database.session_factory() as session:
        assert dao.dao_get_case_by_application(session, early).status == CaseStatus.CANCELLED


def test_a_collected_card_makes_its_claim_live_whatever_the_order(deps):
    case_id = submit(deps)
    verify(deps, case_id)
    application_id = case_of(deps, case_id).application_id
    with uow_of(deps) as uow:
        for event in ("card.collected", "card.shipped"):
            cases.follow_card(
                uow, deps, card_event=event, application_id=application_id, card_id="card-1"
            )
        uow.commit()

    claim = claim_of(deps, case_id)
    assert (claim.state, claim.card_id) == (ClaimState.LIVE, "card-1")
