"""Passwords are kept as argon2id hashes, and an unknown account costs a verification too."""

from __future__ import annotations

import pytest

from services.registration.domain.passwords import Passwords


@pytest.fixture(scope="module")
def passwords():
    return Passwords(time_cost=1, memory_kib=8192, parallelism=1)


def test_a_hash_is_salted_argon2id_and_verifies_only_the_right_password(passwords):
    first, second = passwords.hash("correct-horse-1"), passwords.hash("correct-horse-1")
    assert first.startswith("$argon2id$")
    assert first != second
    assert "correct-horse-1" not in first
    assert passwords.verify(first, "correct-horse-1")
    assert not passwords.verify(first, "correct-horse-2")


class CountingHasher:
    def __init__(self, hasher) -> None:
        self.hasher = hasher
        self.verified: list[str] = []

    def verify(self, stored_hash: str, password: str) -> bool:
        self.verified.append(stored_hash)
        return self.hasher.verify(stored_hash, password)


def test_no_stored_hash_is_never_a_match_but_still_costs_a_verification(passwords, monkeypatch):
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    assert not passwords.verify(None, "correct-horse-1")
    assert len(counting.verified) == 1
    assert counting.verified[0].startswith("$argon2id$")


def test_a_damaged_hash_is_a_mismatch_not_an_error(passwords):
    assert not passwords.verify("not-a-hash", "correct-horse-1")


def test_hashes_made_with_other_costs_need_rehashing(passwords):
    stronger = Passwords(time_cost=2, memory_kib=8192, parallelism=1)
    assert passwords.needs_rehash(stronger.hash("correct-horse-1"))
    assert not passwords.needs_rehash(passwords.hash("correct-horse-1"))
