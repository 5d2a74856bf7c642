"""The printing service's own settings that decide what it keeps, and for how long."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.printing import config
from shared.config import load_settings


def options(**environ: str) -> config.Options:
    return config.options(load_settings("printing", environ))


def test_photos_are_kept_thirty_days_after_activation_unless_told():
    assert options().photo_retention == timedelta(days=30)
    assert options(PRINTING_PHOTO_RETENTION_DAYS="7").photo_retention == timedelta(days=7)
    assert options(PHOTO_RETENTION_DAYS="10").photo_retention == timedelta(days=10)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_no_retention_keeps_them_for_ever(days):
    # A negative number must not mean "delete at once".
    assert options(PRINTING_PHOTO_RETENTION_DAYS=days).photo_retention is None


def test_the_worker_looks_hourly_unless_told():
    assert options().photo_purge_interval_seconds == 3600
    assert options(PRINTING_PHOTO_PURGE_INTERVAL_SECONDS="60").photo_purge_interval_seconds == 60
