"""The application service's commands on its real tables in memory, with its peers replaced
by small fakes: what each leaves in the database and the outbox. No broker, no server."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.application import models
from services.application.dao import (
    dao_get_application,
    dao_get_documents,
    dao_list_photo_views,
    dao_save_application,
)
from services.application.deps import Dependencies
from services.application.domain.applicant import IdentityVerdict
from services.application.domain.progress import ProgressFact
from services.application.domain.status import Status, StatusState
from services.application.models import Application, TimelineEntry
from services.application.use_cases import applications, documents, outlets, progress
from shared.config import load_settings
from shared.db.uow import UnitOfWork
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, PermanentMessageError
from shared.testing.memory import memory_database
from shared.time import utcnow
from tests.application.factories import (
    Citizen,
    at,
    new_id_card_back,
    new_id_number,
    outlet_data,
    plain_card_photo,
)

# -- fakes of the service's peers ----------------------------------------------------------------


class FakeAccounts:
    """The registration service's identity check: these accounts, these names and numbers;
    a locked account matches nothing."""

    def __init__(self) -> None:
        self.people: dict[str, tuple[str, str]] = {}
        self.locked: set[str] = set()

    def check_identity(self, account_id: str, name: str, id_number: str) -> IdentityVerdict:
        known = self.people.get(account_id)
        return IdentityVerdict(account_id not in self.locked and known == (name, id_number))


class FakeRegistry:
    def __init__(self) -> None:
        self.photos: dict[str, bytes] = {}

    def get_photo(self, id_number: str) -> bytes | None:
        return self.photos.get(id_number)


class MemoryFiles:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        self.files[sha256] = data
        return sha256

    def get(self, sha256: str) -> bytes | None:
        return self.files.get(sha256)


@pytest.fixture
def deps(tmp_path) -> Dependencies:
    settings = load_settings(
        "application",
        {
            "SSCARD_VAR_DIR": str(tmp_path),
            "SSCARD_PII_KEY": base64.b64encode(b"k" * 32).decode(),
            "APPLICATION_URL": "http://application.internal:8002",
        },
    )
    deps = Dependencies(settings, memory_database(models.metadata))
    deps.accounts = FakeAccounts()  # type: ignore[assignment]
    deps.identity_registry = FakeRegistry()  # type: ignore[assignment]
    deps.files = MemoryFiles()  # type: ignore[assignment]
    return deps


@pytest.fixture
def outlet(deps) -> dict:
    data = outlet_data()
    with UnitOfWork(deps.database, "printing") as uow:
        outlets.upsert_outlet(uow, deps, outlet=data, version_at=utcnow())
        uow.commit()
    return data


def citizen(deps, *, same_person_as: Citizen | None = None) -> Citizen:
    """A new account; with `same_person_as`, another account with that name and ID number."""
    id_number = same_person_as.id_number if same_person_as else new_id_number()
    person = Citizen(str(uuid.uuid4()), "王伟", id_number, "13800000000", headers={})
    deps.accounts.people[person.account_id] = (person.name, person.id_number)
    return person


def applicant(person: Citizen) -> dict:
    """As the create schema loads it."""
    return {**person.applicant(), "birth_date": person.birth_date}


# -- running the commands as the edges do --------------------------------------------------------


def run(deps, command, **kwargs):
    """The command in a unit of work of its own, committed as a route or handler would."""
    with UnitOfWork(deps.database, "application") as uow:
        result = command(uow, deps, **kwargs)
        uow.commit()
    return result


def draft(deps, person: Citizen, outlet: dict) -> str:
    application = run(
        deps,
        applications.create_application,
        account_id=person.account_id,
        outlet_id=outlet["outlet_id"],
        applicant=applicant(person),
    )
    return application.application_id


def complete(deps, person: Citizen, outlet: dict) -> str:
    application_id = draft(deps, person, outlet)
    mine = {"account_id": person.account_id, "application_id": application_id}
    run(deps, applications.set_photo, upload=plain_card_photo(), **mine)
    run(deps, applications.set_id_card_image, side="front", upload=new_id_card_back(), **mine)
    run(deps, applications.set_id_card_image, side="back", upload=new_id_card_back(), **mine)
    return application_id


def submitted(deps, person: Citizen, outlet: dict) -> str:
    """A draft moved to submitted in place: what verification and printing report on."""
    application_id = draft(deps, person, outlet)
    with deps.database.session_factory() as session, session.begin():
        application = dao_get_application(session, application_id)
        applications.move_to(application, StatusState(Status.SUBMITTED, at(0)), now=at(0))
        dao_save_application(session, application)
    return application_id


def stored(deps, application_id: str) -> Application:
    with deps.database.session_factory() as session:
        return dao_get_application(session, application_id)


def view(deps, application_id: str) -> dict:
    return json.loads(stored(deps, application_id).view)


def outbox(deps, event_type: str) -> list[dict]:
    table = deps.database.outbox.table
    with deps.database.session_factory() as session:
        rows = session.execute(select(table.c.event_type, table.c.body)).all()
    return [json.loads(row.body) for row in rows if row.event_type == event_type]


def report(deps, application_id: str, person: Citizen, fact: ProgressFact, event_id=None):
    run(
        deps,
        progress.record_progress,
        application_id=application_id,
        account_id=person.account_id,
        event_id=event_id or str(uuid.uuid4()),
        event_type="card.printed",
        fact=fact,
    )


# -- opening a draft -----------------------------------------------------------------------------


def test_a_draft_is_opened_with_its_view_and_timeline_and_no_event(deps, outlet):
    person = citizen(deps)
    application_id = draft(deps, person, outlet)
    shown = view(deps, application_id)
    assert shown["status"] == "draft"
    assert shown["missing"] == ["photo", "id_card_front", "id_card_back"]
    assert [entry["status"] for entry in shown["timeline"]] == ["draft"]
    assert shown["applicant"]["id_number_masked"] != person.id_number
    assert stored(deps, application_id).open_account_key == person.account_id
    assert outbox(deps, "application.submitted") == []


def test_only_the_applicant_may_open_it_and_only_once(deps, outlet):
    person, other = citizen(deps), citizen(deps)
    with pytest.raises(Forbidden):
        run(
            deps,
            applications.create_application,
            account_id=other.account_id,
            outlet_id=outlet["outlet_id"],
            applicant=applicant(person),
        )
    draft(deps, person, outlet)
    with pytest.raises(Conflict):
        draft(deps, person, outlet)


def test_one_open_application_per_account_not_per_person(deps, outlet):
    """Whoever registered a person's ID number first (an impostor, say) has an open application
    for that number: the person's own account still opens theirs. One person, one card is
    verification's claim, taken on approval."""
    impostor = citizen(deps)
    person = citizen(deps, same_person_as=impostor)
    first = draft(deps, impostor, outlet)
    second = draft(deps, person, outlet)
    assert first != second
    assert stored(deps, second).open_account_key == person.account_id
    assert stored(deps, first).id_number_index == stored(deps, second).id_number_index
    with pytest.raises(Conflict):
        draft(deps, person, outlet)
    with pytest.raises(Conflict):
        draft(deps, impostor, outlet)


def test_an_account_the_identity_check_does_not_vouch_for_cannot_apply(deps, outlet):
    locked = citizen(deps)
    deps.accounts.locked.add(locked.account_id)
    with pytest.raises(Forbidden):
        draft(deps, locked, outlet)


def test_the_look_up_by_id_number_answers_for_the_newest_application_of_any_account(deps, outlet):
    impostor = citizen(deps)
    person = citizen(deps, same_person_as=impostor)
    submitted(deps, impostor, outlet)
    time.sleep(0.01)  # created strictly later
    draft(deps, person, outlet)
    found = progress.look_up_progress(deps, name=person.name, id_number=person.id_number)
    assert found["status"] == "draft"


def test_an_inactive_outlet_is_refused(deps):
    inactive = outlet_data(active=False)
    run(deps, outlets.upsert_outlet, outlet=inactive, version_at=utcnow())
    with pytest.raises(InvalidInput):
        draft(deps, citizen(deps), inactive)


# -- documents and submission --------------------------------------------------------------------


def test_a_complete_draft_is_submitted_with_its_files_in_the_event(deps, outlet):
    person = citizen(deps)
    application_id = complete(deps, person, outlet)
    submitted = run(
        deps,
        applications.submit_application,
        account_id=person.account_id,
        application_id=application_id,
    )
    assert submitted.status == "submitted"
    [event] = outbox(deps, "application.submitted")
    assert event["subject"] == application_id
    assert event["data"]["applicant"]["id_number"] == person.id_number
    assert event["data"]["photo_source"] == "upload"
    assert set(event["data"]["files"]) == {"photo", "id_card_front", "id_card_back"}
    assert event["data"]["files"]["photo"]["url"].startswith("http://application.internal:8002/")
    shown = view(deps, application_id)
    assert shown["acceptance_number"] == submitted.acceptance_number
    assert (shown["status"], shown["missing"]) == ("submitted", [])
    assert [entry["status"] for entry in shown["timeline"]] == ["draft", "submitted"]


def test_an_incomplete_draft_says_what_is_missing(deps, outlet):
    person = citizen(deps)
    application_id = draft(deps, person, outlet)
    with pytest.raises(Conflict) as refused:
        run(
            deps,
            applications.submit_application,
            account_id=person.account_id,
            application_id=application_id,
        )
    assert refused.value.extra == {"missing": ["photo", "id_card_front", "id_card_back"]}
    assert outbox(deps, "application.submitted") == []


def test_the_photo_on_file_comes_from_the_registry(deps, outlet):
    person = citizen(deps)
    application_id = draft(deps, person, outlet)
    mine = {"account_id": person.account_id, "application_id": application_id}
    with pytest.raises(InvalidInput):
        run(deps, applications.set_photo, upload=None, **mine)
    deps.identity_registry.photos[person.id_number] = plain_card_photo()
    run(deps, applications.set_photo, upload=None, **mine)
    assert view(deps, application_id)["photo_source"] == "on_file"
    with deps.database.session_factory() as session:
        assert dao_get_documents(session, application_id)["photo"][2] == "on_file"


def photo_views(deps, application_id: str) -> list[tuple[str, str]]:
    with deps.database.session_factory() as session:
        views = dao_list_photo_views(session, application_id)
        return [(row.application_id, row.account_id) for row in views]


def test_the_photo_on_file_is_shown_and_every_showing_recorded(deps, outlet):
    person = citizen(deps)
    application_id = draft(deps, person, outlet)
    mine = {"account_id": person.account_id, "application_id": application_id}
    with pytest.raises(NotFound):
        run(deps, applications.get_default_photo, **mine)
    assert photo_views(deps, application_id) == []
    deps.identity_registry.photos[person.id_number] = photo = plain_card_photo()
    assert run(deps, applications.get_default_photo, **mine) == photo
    assert run(deps, applications.get_default_photo, **mine) == photo
    assert photo_views(deps, application_id) == [(application_id, person.account_id)] * 2


def test_the_photo_on_file_is_refused_once_the_check_no_longer_vouches(deps, outlet):
    person = citizen(deps)
    deps.identity_registry.photos[person.id_number] = plain_card_photo()
    application_id = draft(deps, person, outlet)
    mine = {"account_id": person.account_id, "application_id": application_id}
    deps.accounts.locked.add(person.account_id)  # locked since: another account was proven
    with pytest.raises(Forbidden) as refused:
        run(deps, applications.get_default_photo, **mine)
    assert refused.value.extra == {"code": "identity_not_proven"}
    with pytest.raises(Forbidden):
        run(deps, applications.set_photo, upload=None, **mine)
    assert photo_views(deps, application_id) == []
    assert view(deps, application_id)["photo_source"] is None


def test_someone_elses_application_is_not_found(deps, outlet):
    owner, intruder = citizen(deps), citizen(deps)
    application_id = draft(deps, owner, outlet)
    theirs = {"account_id": intruder.account_id, "application_id": application_id}
    with pytest.raises(NotFound):
        run(deps, applications.set_photo, upload=plain_card_photo(), **theirs)
    with pytest.raises(NotFound):
        run(deps, applications.cancel_application, **theirs)
    with pytest.raises(NotFound):
        applications.get_owner_view(deps, **theirs)


# -- cancelling ----------------------------------------------------------------------------------


def test_cancelling_frees_the_person_for_a_new_application(deps, outlet):
    person = citizen(deps)
    application_id = draft(deps, person, outlet)
    mine = {"account_id": person.account_id, "application_id": application_id}
    assert run(deps, applications.cancel_application, **mine).status == "cancelled"
    [event] = outbox(deps, "application.cancelled")
    assert event["data"] == {"application_id": application_id, "account_id": person.account_id}
    assert stored(deps, application_id).open_account_key is None
    assert view(deps, application_id)["status"] == "cancelled"
    assert draft(deps, person, outlet) != application_id
    with pytest.raises(Conflict):
        run(deps, applications.cancel_application, **mine)


# -- progress reported by other services ---------------------------------------------------------


def test_progress_moves_the_status_and_names_the_newest_card(deps, outlet):
    person = citizen(deps)
    application_id = submitted(deps, person, outlet)
    first, reprint = str(uuid.uuid4()), str(uuid.uuid4())
    report(deps, application_id, person, ProgressFact(Status.APPROVED, at(1), "approved"))
    report(
        deps,
        application_id,
        person,
        ProgressFact(Status.PRINT_REQUESTED, at(5), "again", card_id=reprint, card_serial="B2"),
    )
    # A late report of the first card changes neither the card nor the status.
    report(
        deps,
        application_id,
        person,
        ProgressFact(Status.PRINT_REQUESTED, at(2), "first", card_id=first, card_serial="A1"),
    )
    shown = view(deps, application_id)
    assert shown["status"] == "print_requested"
    assert shown["card"] == {"card_id": reprint, "card_serial": "B2"}
    with pytest.raises(Conflict):
        run(
            deps,
            applications.cancel_application,
            account_id=person.account_id,
            application_id=application_id,
        )


def test_a_late_report_brings_the_serial_of_the_current_card(deps, outlet):
    person = citizen(deps)
    application_id = submitted(deps, person, outlet)
    card = str(uuid.uuid4())
    report(deps, application_id, person, ProgressFact(Status.PRINTED, at(5), "printed", card))
    report(
        deps,
        application_id,
        person,
        ProgressFact(Status.PRINT_REQUESTED, at(1), "sent", card_id=card, card_serial="S1"),
    )
    assert view(deps, application_id)["card"] == {"card_id": card, "card_serial": "S1"}


def test_a_duplicate_report_changes_nothing(deps, outlet):
    person = citizen(deps)
    application_id = submitted(deps, person, outlet)
    event_id = str(uuid.uuid4())
    fact = ProgressFact(Status.REJECTED, at(1), "rejected", rejection_reasons=[{"code": "x"}])
    report(deps, application_id, person, fact, event_id)
    before = stored(deps, application_id)
    report(deps, application_id, person, fact, event_id)
    after = stored(deps, application_id)
    assert (after.status, after.updated_at) == (before.status, before.updated_at)
    assert after.rejection_reasons == [{"code": "x"}]
    with deps.database.session_factory() as session:
        entries = session.scalars(select(TimelineEntry).where(TimelineEntry.event_id == event_id))
        assert len(list(entries)) == 1


def test_a_report_for_an_unknown_or_anothers_application_is_never_processed(deps, outlet):
    person = citizen(deps)
    fact = ProgressFact(Status.APPROVED, at(1), "approved")
    with pytest.raises(PermanentMessageError, match="unknown application"):
        report(deps, str(uuid.uuid4()), person, fact)
    application_id = draft(deps, person, outlet)
    with pytest.raises(PermanentMessageError, match="another account"):
        report(deps, application_id, citizen(deps), fact)


# -- outlets and retention -----------------------------------------------------------------------


def test_outlets_are_asked_for_only_while_none_is_known(deps):
    assert run(deps, outlets.request_outlet_snapshot_if_none_known)
    [event] = outbox(deps, "outlet.snapshot_requested")
    assert event["data"] == {"requested_by": "application"}
    run(deps, outlets.upsert_outlet, outlet=outlet_data(), version_at=utcnow())
    assert not run(deps, outlets.request_outlet_snapshot_if_none_known)


def test_a_closed_applications_documents_go_once_its_retention_passed(deps, outlet):
    person = citizen(deps)
    application_id = complete(deps, person, outlet)
    mine = {"account_id": person.account_id, "application_id": application_id}
    run(deps, applications.cancel_application, **mine)
    with deps.database.session_factory() as session, session.begin():
        closed_before = utcnow() + timedelta(seconds=1)
        purged = documents.delete_closed_documents(session, closed_before=closed_before, limit=10)
    assert purged == (1, 3)
    with deps.database.session_factory() as session:
        assert dao_get_documents(session, application_id) == {}
    assert view(deps, application_id)["documents_deleted_at"] is not None
