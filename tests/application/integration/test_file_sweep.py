"""Stored files that no transaction recorded (an upload whose transaction rolled back) are
swept after a grace period; recorded files, fresh ones and files a request is claiming are
never touched."""

from __future__ import annotations

import os
import threading
import time

import pytest

from services.application import housekeeping
from services.application.adapters.storage import FileStore
from services.application.dao import dao_store_file
from services.application.housekeeping import SweepRefused, sweep_unrecorded_files
from shared.db.uow import UnitOfWork
from shared.personal_data.protection import FileCipher
from tests.application.factories import checked_image

HOUR = 3600


def age(path: os.PathLike, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def store_in_transaction(service, store: FileStore, data: bytes, *, commit: bool) -> str:
    with UnitOfWork(service.database, "application") as uow:
        sha256 = dao_store_file(uow.session, store, checked_image(data))
        if commit:
            uow.commit()
    return sha256


@pytest.fixture
def store(tmp_path) -> FileStore:
    return FileStore(tmp_path, FileCipher(b"k" * 32))


def test_only_old_files_that_no_row_records_are_swept(service, store, tmp_path):
    recorded = store_in_transaction(service, store, os.urandom(64), commit=True)
    rolled_back = store_in_transaction(service, store, os.urandom(64), commit=False)
    fresh = store.put(os.urandom(64))  # a request may be about to record it
    abandoned = store.path(recorded).parent / ".incoming-died-mid-write"
    abandoned.write_bytes(b"half")
    for path in (store.path(recorded), store.path(rolled_back), abandoned):
        age(path, 2 * HOUR)

    removed = sweep_unrecorded_files(service.database, store, grace_seconds=HOUR)

    assert removed == 2
    assert not store.path(rolled_back).exists() and not abandoned.exists()
    assert store.get(recorded) is not None and store.get(fresh) is not None
    assert sweep_unrecorded_files(service.database, store, grace_seconds=HOUR) == 0


def test_many_files_without_a_row_mean_the_wrong_database_and_nothing_is_deleted(service, store):
    # A volume full of files, a database that knows none of them (a wrong URL, an old restore).
    names = [store.put(os.urandom(64)) for _ in range(12)]
    for name in names:
        age(store.path(name), 2 * HOUR)
    with pytest.raises(SweepRefused, match="12 of 12 stored files"):
        sweep_unrecorded_files(service.database, store, grace_seconds=HOUR)
    assert all(store.get(name) is not None for name in names)


def test_bytes_stored_again_are_claimed_afresh_and_kept(service, store):
    data = os.urandom(64)
    orphan = store_in_transaction(service, store, data, commit=False)
    age(store.path(orphan), 2 * HOUR)
    assert store.put(data) == orphan  # a new upload of the same bytes, not yet committed
    assert sweep_unrecorded_files(service.database, store, grace_seconds=HOUR) == 0
    assert store.get(orphan) == data


def test_a_file_claimed_just_before_it_is_set_aside_is_put_back(service, store, monkeypatch):
    data = os.urandom(64)
    sha256 = store_in_transaction(service, store, data, commit=False)
    age(store.path(sha256), 2 * HOUR)
    set_aside = store.set_aside

    def a_request_claims_it_first(name: str):
        # After the sweep found the file old and unrecorded, a request stores the same bytes:
        # it finds them there (and touches them); its transaction has not committed yet.
        store.put(data)
        return set_aside(name)

    monkeypatch.setattr(store, "set_aside", a_request_claims_it_first)
    assert sweep_unrecorded_files(service.database, store, grace_seconds=HOUR) == 0
    assert store.get(sha256) == data
    assert not [p for p in store.path(sha256).parent.iterdir() if p.name.startswith(".")]


def test_storing_bytes_that_are_set_aside_this_moment_writes_them_again(store):
    data = os.urandom(64)
    sha256 = store.put(data)
    aside = store.set_aside(sha256)
    assert aside is not None and store.get(sha256) is None
    assert store.put(data) == sha256
    assert store.get(sha256) == data
    store.put_back(aside, sha256)  # the same bytes either way
    assert store.get(sha256) == data


def test_a_failed_sweep_is_logged_and_the_next_one_runs(service, store, monkeypatch, caplog):
    calls, stop = [], threading.Event()

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the volume went away")
        stop.set()
        return 0

    monkeypatch.setattr(housekeeping, "sweep_unrecorded_files", fails_once)
    thread = housekeeping.sweep_every(0.01, service.database, store, grace_seconds=HOUR, stop=stop)
    thread.join(timeout=10)
    assert not thread.is_alive() and len(calls) == 2
    assert "sweeping unrecorded files failed" in caplog.text
