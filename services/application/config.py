"""Settings of the application service: the shared ones plus its own (each read from
`APPLICATION_<NAME>`, then `<NAME>`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.application.domain.images import UploadRules
from shared.config import Settings, load_settings

SERVICE = "application"


@dataclass(frozen=True)
class Options:
    uploads: UploadRules
    # `GET /progress` requests per client per window; 0 turns the limit off (benchmarks).
    progress_rate_limit: int
    progress_rate_window_seconds: int
    # Where the identity check is answered; the registration service unless told.
    accounts_url: str
    # How long a call to the registration service (its identity check, or a new service
    # token) may wait for the answer; past it the citizen gets 503 with Retry-After.
    accounts_timeout_seconds: float
    # How many reverse proxies in front of the service add X-Forwarded-For (0: none, so the
    # header is ignored and cannot be forged to dodge the rate limit).
    trusted_proxy_hops: int
    # How often the worker sweeps stored files no transaction recorded (0: never), and how old
    # such a file must be before it goes (far longer than any request).
    file_sweep_interval_seconds: int
    file_sweep_grace_seconds: int
    # How long the photo and ID card images of a rejected or cancelled application are kept
    # from when it closed (None: for ever); the worker then deletes them, at the sweep's
    # interval (housekeeping.py).
    closed_file_retention: timedelta | None


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)


def options(settings: Settings) -> Options:
    defaults = UploadRules()
    return Options(
        uploads=UploadRules(
            photo_min_bytes=settings.get_int("PHOTO_MIN_BYTES", defaults.photo_min_bytes),
            photo_max_bytes=settings.get_int("PHOTO_MAX_BYTES", defaults.photo_max_bytes),
            photo_max_upload_bytes=settings.get_int(
                "PHOTO_MAX_UPLOAD_BYTES", defaults.photo_max_upload_bytes
            ),
            id_card_max_bytes=settings.get_int("ID_CARD_MAX_BYTES", defaults.id_card_max_bytes),
            id_card_min_long_side=settings.get_int(
                "ID_CARD_MIN_LONG_SIDE", defaults.id_card_min_long_side
            ),
            max_pixels=settings.get_int("MAX_IMAGE_PIXELS", defaults.max_pixels),
        ),
        progress_rate_limit=settings.get_int("PROGRESS_RATE_LIMIT", 30),
        progress_rate_window_seconds=settings.get_int("PROGRESS_RATE_WINDOW_SECONDS", 60),
        accounts_url=settings.get("ACCOUNTS_URL", settings.registration_url).rstrip("/"),
        accounts_timeout_seconds=settings.get_float("ACCOUNTS_TIMEOUT_SECONDS", 2.5),
        trusted_proxy_hops=settings.get_int("TRUSTED_PROXY_HOPS", 0),
        file_sweep_interval_seconds=settings.get_int("FILE_SWEEP_INTERVAL_SECONDS", 3600),
        file_sweep_grace_seconds=settings.get_int("FILE_SWEEP_GRACE_SECONDS", 3600),
        closed_file_retention=settings.get_retention_days("CLOSED_FILE_RETENTION_DAYS", 90),
    )
