"""Settings of the bank printing service: the shared ones plus its own (each read from
`PRINTING_<NAME>`, then `<NAME>`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.config import Settings, load_settings

SERVICE = "printing"


@dataclass(frozen=True)
class Options:
    # How long an applicant's photo is kept after their card was activated (None: for ever);
    # an activated card is never printed again, so the worker then deletes it
    # (housekeeping.py).
    photo_retention: timedelta | None
    # How often the worker looks for such photos (0: never).
    photo_purge_interval_seconds: int
    # How often the worker publishes the expiry notices due (0: never); once a day.
    expiry_notice_interval_seconds: int = 86400


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)


def options(settings: Settings) -> Options:
    return Options(
        photo_retention=settings.get_retention_days("PHOTO_RETENTION_DAYS", 30),
        photo_purge_interval_seconds=settings.get_int("PHOTO_PURGE_INTERVAL_SECONDS", 3600),
        expiry_notice_interval_seconds=settings.get_int("EXPIRY_NOTICE_INTERVAL_SECONDS", 86400),
    )
