"""How long face analyses are kept: the setting, and the in-process memo, which forgets an
analysis at the same age as the database does (its clock is the test's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.verification import config
from services.verification.adapters.analysis_memo import AnalysisMemo
from shared.config import load_settings

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ANALYSIS = {"faces": [], "encoding": [0.0] * 128}


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def memo(clock: Clock, *, days: int = 7, size: int = 256) -> AnalysisMemo:
    return AnalysisMemo(size, retention=timedelta(days=days), clock=clock)


def test_the_memo_returns_an_analysis_within_the_retention_and_not_past_it():
    clock = Clock()
    entries = memo(clock)
    entries.put("photo", ANALYSIS)
    clock.advance(timedelta(days=7))
    assert entries.get("photo") == ANALYSIS  # exactly the retention: still within it
    clock.advance(timedelta(seconds=1))
    assert entries.get("photo") is None


def test_using_an_analysis_does_not_extend_its_life():
    clock = Clock()
    entries = memo(clock)
    entries.put("photo", ANALYSIS)
    for _ in range(7):
        clock.advance(timedelta(days=1))
        assert entries.get("photo") == ANALYSIS
    clock.advance(timedelta(hours=1))
    assert entries.get("photo") is None


def test_an_analysis_from_the_database_is_kept_only_for_what_is_left_of_its_retention():
    clock = Clock()
    entries = memo(clock)
    entries.put("photo on file", ANALYSIS, analysed_at=START - timedelta(days=6))
    assert entries.get("photo on file") == ANALYSIS
    clock.advance(timedelta(days=1, seconds=1))
    assert entries.get("photo on file") is None


def test_expired_analyses_are_forgotten_without_being_asked_for():
    clock = Clock()
    entries = memo(clock)
    entries.put("old", ANALYSIS)
    clock.advance(timedelta(days=5))
    entries.put("recent", ANALYSIS)
    clock.advance(timedelta(days=3))
    assert entries.forget_expired() == 1
    clock.now = START  # what is forgotten is gone, whatever the clock says afterwards
    assert entries.get("old") is None
    assert entries.get("recent") == ANALYSIS


def test_the_memo_keeps_its_size_bound_and_drops_the_least_recently_used():
    entries = memo(Clock(), size=2)
    entries.put("a", ANALYSIS)
    entries.put("b", ANALYSIS)
    assert entries.get("a") == ANALYSIS
    entries.put("c", ANALYSIS)
    assert entries.get("b") is None
    assert entries.get("a") == ANALYSIS and entries.get("c") == ANALYSIS


def settings(**environ: str):
    return load_settings("verification", environ)


def test_analyses_are_kept_thirty_days_and_purged_hourly_unless_told():
    assert config.face_cache(settings()) == config.FaceCache(
        retention=timedelta(days=30), purge_interval_seconds=3600
    )


def test_the_retention_and_purge_interval_are_settings():
    face_cache = config.face_cache(
        settings(
            VERIFICATION_FACE_CACHE_RETENTION_DAYS="7",
            VERIFICATION_FACE_CACHE_PURGE_INTERVAL_SECONDS="600",
        )
    )
    assert face_cache == config.FaceCache(retention=timedelta(days=7), purge_interval_seconds=600)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_a_retention_under_a_day_is_read_as_a_day(days):
    face_cache = config.face_cache(settings(FACE_CACHE_RETENTION_DAYS=days))
    assert face_cache.retention == timedelta(days=1)
