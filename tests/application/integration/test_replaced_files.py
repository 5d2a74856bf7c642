"""A draft's photo or ID card image that is replaced is released when no document refers to it
any more, and swept from disk a grace period later; bytes that another application uses, or
that are stored again, are kept. On PostgreSQL the release and a request storing the same
bytes for another application are interleaved by hand, in both orders."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update

from services.application.adapters.storage import FileStore
from services.application.dao import (
    dao_forget_released_file,
    dao_get_documents,
    dao_put_document,
    dao_recorded_files,
    dao_released_files,
    dao_store_file,
)
from services.application.domain.images import UploadRules, check_card_photo
from services.application.housekeeping import SweepRefused, sweep_unrecorded_files
from services.application.models import ApplicationDocument, ReleasedFile, StoredFile
from shared.db.uow import UnitOfWork
from shared.testing.infrastructure import database_backend
from shared.testing.waiting import wait_until
from shared.time import utcnow
from tests.application.factories import (
    add_outlet,
    create_application,
    new_id_card_back,
    new_photo,
    sha,
    upload,
)

HOUR = 3600

postgresql_only = pytest.mark.skipif(
    database_backend() == "sqlite",
    reason="on SQLite every transaction takes the write lock when it begins: none interleave",
)


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def outlet(service) -> dict:
    return add_outlet(service.database)


@pytest.fixture
def files(service) -> FileStore:
    """Where the service under test stores uploads."""
    return service.deps.files


@pytest.fixture
def new_draft(client, people, outlet):
    def make():
        citizen = people.citizen()
        return citizen, create_application(client, citizen, outlet)["application_id"]

    return make


def put_photo(client, draft, data: bytes) -> None:
    citizen, application_id = draft
    response = upload(client, citizen, application_id, "photo", data, "image/jpeg")
    assert response.status_code == 204, response.get_data(as_text=True)


def state(service, sha256: str) -> tuple[bool, bool]:
    """(a stored_files row records it, it is released)."""
    with service.database.session_factory() as session:
        return (
            sha256 in dao_recorded_files(session, [sha256]),
            sha256 in dao_released_files(session, [sha256]),
        )


RECORDED, RELEASED = (True, False), (False, True)


def document(service, application_id: str, kind: str = "photo") -> str:
    with service.database.session_factory() as session:
        return dao_get_documents(session, application_id)[kind][0]


def sweep(service, files: FileStore, *, hours_from_now: float = 0) -> int:
    return sweep_unrecorded_files(
        service.database, files, grace_seconds=HOUR, now=time.time() + hours_from_now * HOUR
    )


def age(files: FileStore, sha256: str, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(files.path(sha256), (then, then))


def age_release(service, sha256: str, seconds: float) -> None:
    with service.database.session_factory() as session, session.begin():
        session.execute(
            update(ReleasedFile)
            .where(ReleasedFile.sha256 == sha256)
            .values(released_at=utcnow() - timedelta(seconds=seconds))
        )


# -- releasing and sweeping --------------------------------------------------------------------


def test_a_replaced_photo_is_released_and_swept_once_the_grace_has_passed(
    service, client, files, new_draft
):
    draft = new_draft()
    first, second = new_photo(), new_photo()
    put_photo(client, draft, first)
    put_photo(client, draft, second)

    assert state(service, sha(first)) == RELEASED
    assert state(service, sha(second)) == RECORDED
    # Uploaded long ago, replaced just now: the release, not the file's age, starts the grace.
    age(files, sha(first), 2 * HOUR)
    sweep(service, files)
    assert files.get(sha(first)) == first

    sweep(service, files, hours_from_now=2)
    assert not files.path(sha(first)).exists()
    assert state(service, sha(first)) == (False, False)
    assert files.get(sha(second)) == second
    assert document(service, draft[1]) == sha(second)


def test_replacing_a_file_with_the_same_bytes_releases_nothing(service, client, files, new_draft):
    draft, photo = new_draft(), new_photo()
    put_photo(client, draft, photo)
    put_photo(client, draft, photo)
    assert state(service, sha(photo)) == RECORDED
    sweep(service, files, hours_from_now=2)
    assert files.get(sha(photo)) == photo


def test_a_file_another_application_uses_is_released_only_with_its_last_reference(
    service, client, files, new_draft
):
    mine, theirs = new_draft(), new_draft()
    shared_photo = new_photo()
    put_photo(client, mine, shared_photo)
    put_photo(client, theirs, shared_photo)  # the same bytes: one file, two documents

    put_photo(client, mine, new_photo())
    assert state(service, sha(shared_photo)) == RECORDED
    sweep(service, files, hours_from_now=2)
    assert files.get(sha(shared_photo)) == shared_photo

    put_photo(client, theirs, new_photo())
    assert state(service, sha(shared_photo)) == RELEASED


def test_bytes_stored_again_after_their_release_are_kept_and_the_release_forgotten(
    service, client, files, new_draft
):
    mine, theirs = new_draft(), new_draft()
    photo = new_photo()
    put_photo(client, mine, photo)
    put_photo(client, mine, new_photo())
    assert state(service, sha(photo)) == RELEASED

    put_photo(client, theirs, photo)
    assert state(service, sha(photo)) == (True, True)  # recorded anew; the sweep tidies up

    sweep(service, files, hours_from_now=2)
    assert files.get(sha(photo)) == photo
    assert state(service, sha(photo)) == RECORDED
    assert document(service, theirs[1]) == sha(photo)


def test_bytes_released_again_before_the_sweep_get_a_new_grace(service, client, files, new_draft):
    mine, theirs = new_draft(), new_draft()
    photo = new_photo()
    put_photo(client, mine, photo)
    put_photo(client, mine, new_photo())
    age(files, sha(photo), 2 * HOUR)
    age_release(service, sha(photo), 2 * HOUR)  # released long ago; the sweep did not come by

    put_photo(client, theirs, photo)
    put_photo(client, theirs, new_photo())
    assert state(service, sha(photo)) == RELEASED
    age(files, sha(photo), 2 * HOUR)
    sweep(service, files)
    assert files.get(sha(photo)) == photo
    sweep(service, files, hours_from_now=2)
    assert not files.path(sha(photo)).exists()


def test_released_bytes_a_request_is_storing_are_put_back_and_judged_again(
    service, client, files, new_draft, monkeypatch
):
    draft, photo = new_draft(), new_photo()
    put_photo(client, draft, photo)
    put_photo(client, draft, new_photo())
    age(files, sha(photo), 2 * HOUR)
    age_release(service, sha(photo), 2 * HOUR)
    set_aside = files.set_aside

    def a_request_stores_them_first(name: str):
        # It finds the bytes there and touches them; its transaction has not committed yet.
        if name == sha(photo):
            files.put(photo)
        return set_aside(name)

    monkeypatch.setattr(files, "set_aside", a_request_stores_them_first)
    sweep(service, files)
    assert files.get(sha(photo)) == photo
    assert state(service, sha(photo)) == RELEASED  # not recorded yet: judged again next time
    monkeypatch.undo()

    age(files, sha(photo), 2 * HOUR)  # that request rolled back long ago
    sweep(service, files)
    assert not files.path(sha(photo)).exists()
    assert state(service, sha(photo)) == (False, False)


def test_a_file_released_again_after_the_sweep_looked_keeps_its_new_grace(service, client, files):
    # The sweep forgets only the release it judged: one that is newer starts its own grace.
    sha256 = "e" * 64
    with service.database.session_factory() as session, session.begin():
        session.add(ReleasedFile(sha256=sha256, released_at=utcnow()))
    with service.database.session_factory() as session, session.begin():
        dao_forget_released_file(session, sha256, utcnow() - timedelta(hours=1))
    assert state(service, sha256) == RELEASED
    with service.database.session_factory() as session, session.begin():
        dao_forget_released_file(session, sha256, utcnow() + timedelta(seconds=1))
    assert state(service, sha256) == (False, False)


# -- the safety valve --------------------------------------------------------------------------


def replaced_id_card_backs(client, draft, count: int) -> list[str]:
    """Uploads `count` + 1 ID card backs one over the other; the `count` replaced ones."""
    citizen, application_id = draft
    names = []
    for _ in range(count + 1):
        back = new_id_card_back()
        response = upload(client, citizen, application_id, "id_card_back", back, "image/png")
        assert response.status_code == 204, response.get_data(as_text=True)
        names.append(sha(back))
    return names[:-1]


def test_released_files_do_not_count_towards_the_safety_valve(service, client, files, new_draft):
    released = replaced_id_card_backs(client, new_draft(), 12)
    for name in released:
        age(files, name, 2 * HOUR)
        assert state(service, name) == RELEASED

    sweep(service, files)  # within their grace: not unrecorded files either
    assert all(files.path(name).exists() for name in released)
    sweep(service, files, hours_from_now=2)
    assert not any(files.path(name).exists() for name in released)


def test_a_refused_sweep_deletes_no_released_file_either(service, client, files, new_draft):
    released = replaced_id_card_backs(client, new_draft(), 1)
    # Files no row records, too many to be rolled-back uploads: another database's volume.
    unknown = [files.put(os.urandom(64)) for _ in range(40)]
    try:
        with pytest.raises(SweepRefused):
            sweep(service, files, hours_from_now=2)
        assert files.path(released[0]).exists()
        assert state(service, released[0]) == RELEASED
    finally:
        for name in unknown:
            files.path(name).unlink()


# -- a release racing a request that stores the same bytes (PostgreSQL) ------------------------


def someone_waits_for_a_lock(service) -> bool:
    with service.database.engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        )


def replace_photo_in(uow: UnitOfWork, files: FileStore, application_id: str, data: bytes) -> None:
    """What `PUT …/photo` does in its transaction, left uncommitted."""
    image = check_card_photo(data, UploadRules())
    sha256 = dao_store_file(uow.session, files, image)
    dao_put_document(uow.session, application_id, "photo", sha256, source="upload")
    uow.session.flush()


def put_photo_in_the_background(pool, service, draft, data: bytes):
    citizen, application_id = draft
    return pool.submit(
        lambda: upload(service.client(), citizen, application_id, "photo", data, "image/jpeg")
    )


@postgresql_only
def test_a_release_waits_for_a_request_referring_to_the_same_bytes_and_keeps_them(
    service, client, files, new_draft
):
    mine, theirs = new_draft(), new_draft()
    photo, replacement = new_photo(), new_photo()
    put_photo(client, mine, photo)
    with ThreadPoolExecutor(1) as pool, UnitOfWork(service.database, "application") as theirs_uow:
        # Another application's request stores the same bytes and refers to them...
        replace_photo_in(theirs_uow, files, theirs[1], photo)
        # ...while the owner replaces them: the release waits for that request.
        replacing = put_photo_in_the_background(pool, service, mine, replacement)
        wait_until(lambda: someone_waits_for_a_lock(service), what="the release to wait")
        theirs_uow.commit()
        assert replacing.result(timeout=30).status_code == 204

    assert state(service, sha(photo)) == RECORDED
    assert document(service, theirs[1]) == sha(photo)
    assert document(service, mine[1]) == sha(replacement)


@postgresql_only
def test_a_request_storing_bytes_that_are_being_released_records_them_anew(
    service, client, files, new_draft
):
    mine, theirs = new_draft(), new_draft()
    photo = new_photo()
    put_photo(client, mine, photo)
    with ThreadPoolExecutor(1) as pool, UnitOfWork(service.database, "application") as mine_uow:
        # The owner's replacement has deleted the row (not committed yet)...
        replace_photo_in(mine_uow, files, mine[1], new_photo())
        # ...when another application's request stores the same bytes: it waits, then records
        # them again instead of failing on the foreign key once the release commits.
        storing = put_photo_in_the_background(pool, service, theirs, photo)
        wait_until(lambda: someone_waits_for_a_lock(service), what="the request to wait")
        mine_uow.commit()
        assert storing.result(timeout=30).status_code == 204

    assert state(service, sha(photo)) == (True, True)
    assert document(service, theirs[1]) == sha(photo)
    sweep(service, files, hours_from_now=2)
    assert files.get(sha(photo)) == photo
    assert state(service, sha(photo)) == RECORDED


@postgresql_only
def test_the_last_two_references_replaced_at_once_release_the_file(
    service, client, files, new_draft
):
    mine, theirs = new_draft(), new_draft()
    shared_photo = new_photo()
    put_photo(client, mine, shared_photo)
    put_photo(client, theirs, shared_photo)
    with ThreadPoolExecutor(1) as pool, UnitOfWork(service.database, "application") as mine_uow:
        replace_photo_in(mine_uow, files, mine[1], new_photo())  # still theirs: kept
        replacing = put_photo_in_the_background(pool, service, theirs, new_photo())
        # Each sees the other's reference unless the second waits for the first to commit.
        wait_until(lambda: replacing.done() or someone_waits_for_a_lock(service))
        mine_uow.commit()
        assert replacing.result(timeout=30).status_code == 204

    assert state(service, sha(shared_photo)) == RELEASED


@postgresql_only
def test_two_applications_swapping_their_photos_at_once_both_succeed(
    service, client, files, new_draft
):
    mine, theirs = new_draft(), new_draft()
    my_photo, their_photo = new_photo(), new_photo()
    put_photo(client, mine, my_photo)
    put_photo(client, theirs, their_photo)
    with ThreadPoolExecutor(1) as pool, UnitOfWork(service.database, "application") as mine_uow:
        image = check_card_photo(their_photo, UploadRules())
        dao_store_file(mine_uow.session, files, image)  # holds their photo's row
        # They take my photo and release theirs, which waits for this transaction...
        swapping = put_photo_in_the_background(pool, service, theirs, my_photo)
        wait_until(lambda: someone_waits_for_a_lock(service), what="their release to wait")
        # ...while my release of my photo waits for theirs: a deadlock, which PostgreSQL breaks
        # by failing one release; that one keeps its file, and both replacements succeed.
        dao_put_document(mine_uow.session, mine[1], "photo", image.sha256, source="upload")
        mine_uow.commit()
        assert swapping.result(timeout=30).status_code == 204

    assert state(service, sha(my_photo)) == RECORDED
    assert state(service, sha(their_photo)) == RECORDED
    assert document(service, mine[1]) == sha(their_photo)
    assert document(service, theirs[1]) == sha(my_photo)


def test_a_recorded_file_no_document_refers_to_is_released_then_swept(
    service, client, files, new_draft
):
    orphaned, kept = new_draft(), new_draft()
    lost, used = new_photo(), new_photo()
    put_photo(client, orphaned, lost)
    put_photo(client, kept, used)
    with service.database.session_factory() as session, session.begin():
        # As a release that had to give way leaves it: the document gone, the row kept.
        session.execute(
            delete(ApplicationDocument).where(ApplicationDocument.application_id == orphaned[1])
        )
        # Both recorded two hours ago.
        session.execute(
            update(StoredFile)
            .where(StoredFile.sha256.in_([sha(lost), sha(used)]))
            .values(created_at=utcnow() - timedelta(hours=2))
        )
    for data in (lost, used):
        age(files, sha(data), 2 * HOUR)

    sweep(service, files)
    assert state(service, sha(lost)) == RELEASED
    assert files.get(sha(lost)) == lost  # released just now: its grace starts

    sweep(service, files, hours_from_now=2)
    assert not files.path(sha(lost)).exists()
    assert state(service, sha(used)) == RECORDED
    assert files.get(sha(used)) == used


def test_a_recorded_file_without_a_document_is_left_alone_within_the_grace(
    service, client, files, new_draft
):
    draft = new_draft()
    photo = new_photo()
    put_photo(client, draft, photo)
    with service.database.session_factory() as session, session.begin():
        session.execute(
            delete(ApplicationDocument).where(ApplicationDocument.application_id == draft[1])
        )

    sweep(service, files)

    assert state(service, sha(photo)) == RECORDED
    assert files.get(sha(photo)) == photo
