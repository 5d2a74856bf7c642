"""A key ring with an overlap: a replaced key keeps verifying for the overlap after it was
replaced, however many rotations came since, and not after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.auth.keys import KeyRing


def test_a_replaced_key_verifies_for_the_overlap_and_then_goes(tmp_path):
    ring = KeyRing(tmp_path, overlap=timedelta(days=7))
    first = ring.current()
    second = ring.rotate()
    third = ring.rotate()  # two rotations within the overlap: both old keys still verify
    now = datetime.now(UTC)
    assert [key.kid for key in ring.verification_keys(now=now)] == [
        third.kid,
        second.kid,
        first.kid,
    ]
    eight_days_on = now + timedelta(days=8)
    assert [key.kid for key in ring.verification_keys(now=eight_days_on)] == [third.kid]


def test_a_key_replaced_long_ago_is_deleted_at_the_next_rotation(tmp_path):
    ring = KeyRing(tmp_path, overlap=timedelta(0))
    first = ring.current()
    second = ring.rotate()
    assert not (tmp_path / f"{first.kid}.pem").exists()
    assert [key.kid for key in ring.verification_keys()] == [second.kid]


def test_without_an_overlap_the_newest_previous_keys_stay(tmp_path):
    ring = KeyRing(tmp_path, keep_previous=1)
    ring.current()
    second = ring.rotate()
    third = ring.rotate()
    assert [key.kid for key in ring.verification_keys()] == [third.kid, second.kid]
