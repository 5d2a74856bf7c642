"""The photo and ID card images of a rejected or cancelled application are deleted once the
retention after it closed has passed: its documents go, their files are released (and swept a
grace period later) unless another application uses the same bytes, and its owner's view says
when. An activated application keeps them. The purge runs in batches, once per application."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.application import config, housekeeping
from services.application.adapters.storage import FileStore
from services.application.api.schemas import ApplicationSchema
from services.application.dao import (
    dao_get_application,
    dao_get_documents,
    dao_recorded_files,
    dao_released_files,
)
from services.application.handlers import HANDLERS
from services.application.housekeeping import purge_closed_documents, sweep_unrecorded_files
from services.application.models import Application
from services.application.use_cases import documents as documents_cases
from services.application.worker import start_housekeeping
from shared.db.uow import UnitOfWork
from shared.testing.infrastructure import database_backend
from shared.time import utcnow
from tests.application.factories import (
    Citizen,
    add_outlet,
    card_event,
    create_application,
    new_id_card_back,
    new_photo,
    sha,
    upload,
    verification_event,
)

RETENTION = timedelta(days=90)
HOUR = 3600
KINDS = (
    ("photo", "image/jpeg"),
    ("id_card_front", "image/png"),
    ("id_card_back", "image/png"),
)
RECORDED, RELEASED, GONE = (True, False), (False, True), (False, False)


@pytest.fixture(scope="module")
def outlet(service) -> dict:
    return add_outlet(service.database)


@pytest.fixture
def files(service) -> FileStore:
    return service.deps.files


# -- applications at the stage each test needs, with images no other upload has ---------------


def draft(client, people, outlet, *, photo: bytes | None = None, kinds=KINDS):
    """(citizen, application, {kind: the bytes uploaded})."""
    citizen = people.citizen()
    application = create_application(client, citizen, outlet)
    uploaded = {}
    for kind, content_type in kinds:
        data = (photo or new_photo()) if kind == "photo" else new_id_card_back()
        response = upload(client, citizen, application["application_id"], kind, data, content_type)
        assert response.status_code == 204, response.get_data(as_text=True)
        uploaded[kind] = data
    return citizen, application, uploaded


def submitted(client, people, outlet, **kwargs):
    citizen, application, uploaded = draft(client, people, outlet, **kwargs)
    response = client.post(
        f"/api/v1/applications/{application['application_id']}/submit", headers=citizen.headers
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return citizen, application, uploaded


def handle(service, event) -> None:
    """What the worker does with an event from another service."""
    with UnitOfWork(service.database, "application") as uow:
        HANDLERS[event.type](service.deps, uow, event)
        uow.commit()


def rejected(service, client, people, outlet, **kwargs):
    citizen, application, uploaded = submitted(client, people, outlet, **kwargs)
    event = verification_event("verification.rejected", application, citizen.account_id, minute=1)
    handle(service, event)
    return citizen, application, uploaded


def cancelled(client, people, outlet, *, submit: bool = True, **kwargs):
    citizen, application, uploaded = (submitted if submit else draft)(
        client, people, outlet, **kwargs
    )
    response = client.post(
        f"/api/v1/applications/{application['application_id']}/cancel", headers=citizen.headers
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return citizen, application, uploaded


def activated(service, client, people, outlet, **kwargs):
    citizen, application, uploaded = submitted(client, people, outlet, **kwargs)
    handle(service, card_event("card.activated", application, citizen.account_id, minute=5))
    return citizen, application, uploaded


def closed_ago(service, application: dict, age: timedelta) -> None:
    """As if the application had entered its status `age` ago."""
    with service.database.session_factory() as session, session.begin():
        session.execute(
            update(Application)
            .where(Application.application_id == application["application_id"])
            .values(status_at=utcnow() - age)
        )


# -- what to look at ---------------------------------------------------------------------------


def purge(service, **kwargs) -> tuple[int, int]:
    return purge_closed_documents(service.database, retention=RETENTION, **kwargs)


def sweep(service, files: FileStore, *, hours_from_now: float = 0) -> int:
    return sweep_unrecorded_files(
        service.database, files, grace_seconds=HOUR, now=time.time() + hours_from_now * HOUR
    )


def documents(service, application: dict) -> dict:
    with service.database.session_factory() as session:
        return dao_get_documents(session, application["application_id"])


def stored(service, application: dict) -> Application:
    with service.database.session_factory() as session:
        return dao_get_application(session, application["application_id"])


def state(service, sha256: str) -> tuple[bool, bool]:
    """(a stored_files row records it, it is released)."""
    with service.database.session_factory() as session:
        return (
            sha256 in dao_recorded_files(session, [sha256]),
            sha256 in dao_released_files(session, [sha256]),
        )


def view(client, citizen: Citizen, application: dict) -> dict:
    response = client.get(
        f"/api/v1/applications/{application['application_id']}", headers=citizen.headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def claimed(client, token_authority, sha256: str):
    """What the verification service gets for the file's claim check."""
    return client.get(
        f"/internal/v1/files/{sha256}", headers=token_authority.service("verification")
    )


# -- the retention -----------------------------------------------------------------------------


def test_rejected_and_cancelled_applications_past_the_retention_lose_their_images(
    service, client, people, outlet, files, token_authority
):
    closed = [
        rejected(service, client, people, outlet),
        cancelled(client, people, outlet),
        cancelled(client, people, outlet, submit=False, kinds=KINDS[:2]),  # a cancelled draft
    ]
    for _citizen, application, _uploaded in closed:
        closed_ago(service, application, RETENTION + timedelta(hours=1))

    before = utcnow()
    purge(service)

    for citizen, application, uploaded in closed:
        assert documents(service, application) == {}
        deleted_at = stored(service, application).documents_deleted_at
        assert deleted_at is not None and deleted_at >= before
        body = view(client, citizen, application)
        assert body["documents_deleted_at"] is not None
        assert set(body) == set(ApplicationSchema().fields)  # what the OpenAPI document says
        ApplicationSchema().load(body)
        assert body["status"] in ("rejected", "cancelled")
        for data in uploaded.values():
            assert state(service, sha(data)) == RELEASED
            assert files.get(sha(data)) == data  # until the sweep's grace has passed
            assert claimed(client, token_authority, sha(data)).status_code == 404

    sweep(service, files, hours_from_now=2)
    for _citizen, _application, uploaded in closed:
        for data in uploaded.values():
            assert not files.path(sha(data)).exists()
            assert state(service, sha(data)) == GONE


def test_within_the_retention_the_images_are_kept(service, client, people, outlet, files):
    citizen, application, uploaded = rejected(service, client, people, outlet)
    closed_ago(service, application, RETENTION - timedelta(hours=1))

    purge(service)
    sweep(service, files, hours_from_now=2)

    assert set(documents(service, application)) == {kind for kind, _ in KINDS}
    assert stored(service, application).documents_deleted_at is None
    assert view(client, citizen, application)["documents_deleted_at"] is None
    for data in uploaded.values():
        assert state(service, sha(data)) == RECORDED
        assert files.get(sha(data)) == data


def test_an_activated_application_keeps_its_images(service, client, people, outlet, files):
    citizen, application, uploaded = activated(service, client, people, outlet)
    assert stored(service, application).status == "activated"
    closed_ago(service, application, 10 * RETENTION)

    purge(service)
    sweep(service, files, hours_from_now=2)

    assert set(documents(service, application)) == {kind for kind, _ in KINDS}
    assert view(client, citizen, application)["documents_deleted_at"] is None
    for data in uploaded.values():
        assert files.get(sha(data)) == data


def test_a_file_another_application_still_uses_stays(
    service, client, people, outlet, files, token_authority
):
    photo = new_photo()
    _citizen, application, uploaded = rejected(service, client, people, outlet, photo=photo)
    # A draft whose photo is the same bytes: one file, two documents.
    other_citizen, other, _ = draft(client, people, outlet, photo=photo, kinds=KINDS[:1])
    closed_ago(service, application, RETENTION + timedelta(hours=1))

    purge(service)
    sweep(service, files, hours_from_now=2)

    assert documents(service, application) == {}
    assert state(service, sha(photo)) == RECORDED
    assert files.get(sha(photo)) == photo
    assert claimed(client, token_authority, sha(photo)).status_code == 200
    assert documents(service, other)["photo"][0] == sha(photo)
    assert view(client, other_citizen, other)["missing"] == ["id_card_front", "id_card_back"]
    for kind in ("id_card_front", "id_card_back"):  # its own files went
        assert not files.path(sha(uploaded[kind])).exists()


def test_purging_again_changes_nothing(service, client, people, outlet):
    _citizen, application, _ = rejected(service, client, people, outlet)
    closed_ago(service, application, RETENTION + timedelta(hours=1))
    applications, released = purge(service)
    assert applications >= 1 and released >= 3
    first = stored(service, application)

    assert purge(service) == (0, 0)

    again = stored(service, application)
    assert again.documents_deleted_at == first.documents_deleted_at
    assert (again.updated_at, again.view) == (first.updated_at, first.view)


def test_the_purge_goes_a_batch_of_applications_per_transaction(
    service, client, people, outlet, monkeypatch
):
    purge(service)  # whatever earlier tests left past the retention
    closed = [cancelled(client, people, outlet, submit=False, kinds=KINDS[:1]) for _ in range(5)]
    for _citizen, application, _uploaded in closed:
        closed_ago(service, application, RETENTION + timedelta(hours=1))
    batches: list[int] = []
    look = documents_cases.dao_list_closed_applications_keeping_documents

    def counted(*args, **kwargs):
        batches.append(len(found := look(*args, **kwargs)))
        return found

    monkeypatch.setattr(documents_cases, "dao_list_closed_applications_keeping_documents", counted)
    assert purge(service, batch=2) == (5, 5)
    assert batches == [2, 2, 1]
    for _citizen, application, _uploaded in closed:
        assert documents(service, application) == {}


def test_a_purged_application_takes_no_new_images(service, client, people, outlet):
    citizen, application, _ = cancelled(client, people, outlet, submit=False, kinds=())
    closed_ago(service, application, RETENTION + timedelta(hours=1))
    purge(service)
    assert stored(service, application).documents_deleted_at is not None

    application_id = application["application_id"]
    base = f"/api/v1/applications/{application_id}"
    responses = [
        upload(client, citizen, application_id, "photo", new_photo(), "image/jpeg"),
        upload(client, citizen, application_id, "id_card_back", new_id_card_back(), "image/png"),
        client.post(f"{base}/submit", headers=citizen.headers),
        client.post(f"{base}/cancel", headers=citizen.headers),
    ]
    assert [response.status_code for response in responses] == [409] * 4
    assert documents(service, application) == {}
    assert client.get("/api/v1/applications", headers=citizen.headers).status_code == 200


@pytest.mark.skipif(
    database_backend() == "sqlite",
    reason="on SQLite every transaction takes the write lock when it begins: none interleave",
)
def test_an_application_another_transaction_holds_is_skipped_and_purged_next_time(
    service, client, people, outlet
):
    _citizen, application, _ = rejected(service, client, people, outlet)
    closed_ago(service, application, RETENTION + timedelta(hours=1))
    with ThreadPoolExecutor(1) as pool, UnitOfWork(service.database, "application") as holder:
        # A late event for it being recorded: the row is locked until that commits.
        dao_get_application(holder.session, application["application_id"], for_update=True)
        pool.submit(purge, service).result(timeout=30)  # not waited for
        assert stored(service, application).documents_deleted_at is None
        holder.commit()
    purge(service)
    assert documents(service, application) == {}


# -- the worker's side -------------------------------------------------------------------------


def test_the_worker_purges_on_a_thread_of_its_own(service, client, people, outlet, monkeypatch):
    _citizen, application, _ = rejected(service, client, people, outlet)
    closed_ago(service, application, RETENTION + timedelta(hours=1))
    purges: queue.Queue[tuple[int, int]] = queue.Queue()
    run = housekeeping.purge_closed_documents

    def reported(*args, **kwargs):
        purges.put(result := run(*args, **kwargs))
        return result

    monkeypatch.setattr(housekeeping, "purge_closed_documents", reported)
    stop = threading.Event()
    thread = housekeeping.purge_every(0.01, service.database, retention=RETENTION, stop=stop)
    try:
        assert thread.daemon and thread is not threading.current_thread()
        assert purges.get(timeout=10)[0] >= 1
        assert purges.get(timeout=10) == (0, 0)  # and again, with nothing left to do
        assert documents(service, application) == {}
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("env", "threads"),
    [
        ({}, ["file-sweep", "closed-documents-purge"]),
        ({"APPLICATION_CLOSED_FILE_RETENTION_DAYS": "0"}, ["file-sweep"]),
        ({"APPLICATION_FILE_SWEEP_INTERVAL_SECONDS": "0"}, []),
    ],
)
def test_the_worker_purges_unless_the_retention_or_the_sweep_is_off(service, files, env, threads):
    options = config.options(config.load({**service.settings.environ, **env}))
    stop = threading.Event()
    started = start_housekeeping(options, service.database, files, stop=stop)
    try:
        assert [thread.name for thread in started] == threads
    finally:
        stop.set()
        for thread in started:
            thread.join(timeout=10)
