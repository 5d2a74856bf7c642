"""Stored files are sealed at rest and named by the SHA-256 of their bytes; a file that was
altered, moved to another name or sealed with another key does not open."""

from __future__ import annotations

import hashlib
import logging

import pytest

from services.application.adapters.storage import FileStore
from shared.personal_data.protection import FileCipher

ID_CARD = b"\xff\xd8\xff\xe0 an ID card: 11010519491231002X " * 40


@pytest.fixture
def store(tmp_path) -> FileStore:
    return FileStore(tmp_path, FileCipher(b"k" * 32))


def test_a_file_is_sealed_on_disk_and_read_back_as_stored(store):
    sha256 = store.put(ID_CARD)
    assert sha256 == hashlib.sha256(ID_CARD).hexdigest()
    on_disk = store.path(sha256).read_bytes()
    assert b"11010519491231002X" not in on_disk and not on_disk.startswith(b"\xff\xd8")
    assert store.get(sha256) == ID_CARD


def test_equal_bytes_are_stored_once(store):
    sha256 = store.put(ID_CARD)
    first = store.path(sha256).read_bytes()
    assert store.put(ID_CARD) == sha256
    assert store.path(sha256).read_bytes() == first  # not sealed again under a new nonce


def test_a_file_stored_before_sealing_is_read_as_it_is(store):
    sha256 = hashlib.sha256(ID_CARD).hexdigest()
    store.path(sha256).parent.mkdir(parents=True)
    store.path(sha256).write_bytes(ID_CARD)
    assert store.get(sha256) == ID_CARD


@pytest.mark.parametrize("damage", ["moved", "altered", "other key"])
def test_a_file_that_does_not_open_is_missing_and_logged(store, tmp_path, damage, caplog):
    sha256 = store.put(ID_CARD)
    sealed = store.path(sha256).read_bytes()
    reader, name = store, sha256
    if damage == "moved":
        name = hashlib.sha256(b"something else").hexdigest()
        store.path(name).parent.mkdir(parents=True, exist_ok=True)
        store.path(name).write_bytes(sealed)
    elif damage == "altered":
        store.path(sha256).write_bytes(sealed[:-1] + bytes([sealed[-1] ^ 1]))
    else:
        reader = FileStore(tmp_path, FileCipher(b"j" * 32))
    with caplog.at_level(logging.ERROR):
        assert reader.get(name) is None
    assert "does not open" in caplog.text
