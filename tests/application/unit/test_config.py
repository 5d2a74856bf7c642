"""The application service's own settings that decide what it keeps, and for how long."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.application import config
from shared.config import load_settings


def options(**environ: str) -> config.Options:
    return config.options(load_settings("application", environ))


def test_closed_applications_images_are_kept_ninety_days_unless_told():
    assert options().closed_file_retention == timedelta(days=90)
    assert options(APPLICATION_CLOSED_FILE_RETENTION_DAYS="30").closed_file_retention == (
        timedelta(days=30)
    )
    assert options(CLOSED_FILE_RETENTION_DAYS="7").closed_file_retention == timedelta(days=7)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_no_retention_keeps_them_for_ever(days):
    # A negative number must not mean "delete at once".
    assert options(APPLICATION_CLOSED_FILE_RETENTION_DAYS=days).closed_file_retention is None
