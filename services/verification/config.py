"""Settings of the verification service: the shared ones plus the check rules (docs/domain.md's
photo geometry and file size window, the face-match thresholds) and how long face analyses are
kept, each overridable by environment variable (`VERIFICATION_<NAME>` or `<NAME>`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.verification.domain.rules import CheckRules
from shared.config import Settings, load_settings

SERVICE = "verification"


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)


def check_rules(settings: Settings) -> CheckRules:
    defaults = CheckRules()
    return CheckRules(
        photo_width=settings.get_int("PHOTO_WIDTH", defaults.photo_width),
        photo_height=settings.get_int("PHOTO_HEIGHT", defaults.photo_height),
        photo_min_kb=settings.get_int("PHOTO_MIN_KB", defaults.photo_min_kb),
        photo_max_kb=settings.get_int("PHOTO_MAX_KB", defaults.photo_max_kb),
        face_width_min=settings.get_int("FACE_WIDTH_MIN_PX", defaults.face_width_min),
        face_width_max=settings.get_int("FACE_WIDTH_MAX_PX", defaults.face_width_max),
        eye_line_min=settings.get_int("EYE_LINE_MIN_PX", defaults.eye_line_min),
        match_pass_below=settings.get_float("FACE_MATCH_PASS_BELOW", defaults.match_pass_below),
        match_fail_above=settings.get_float("FACE_MATCH_FAIL_ABOVE", defaults.match_fail_above),
    )


DEFAULT_FACE_CACHE_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class FaceCache:
    # How long a face analysis (biometric data) may be reused and kept, from when it was made:
    # older ones are analysed again, and the worker deletes them.
    retention: timedelta = DEFAULT_FACE_CACHE_RETENTION
    # How often the worker deletes expired analyses (0: never; they are still not reused).
    purge_interval_seconds: int = 3600


def face_cache(settings: Settings) -> FaceCache:
    defaults = FaceCache()
    # At least a day. What the cache is for (the photo on file, a re-verification, a batch
    # retried after a fault) happens within days, and an analysis is derived from images the
    # application service keeps meanwhile: a shorter retention would mostly analyse the same
    # photo again while adding little to what is kept about anyone. 0 ("nothing beyond its
    # verification") would expire an analysis in the transaction that stores it, a cache
    # that writes rows it never reads; it is read as the minimum instead.
    days = max(1, settings.get_int("FACE_CACHE_RETENTION_DAYS", defaults.retention.days))
    return FaceCache(
        retention=timedelta(days=days),
        purge_interval_seconds=settings.get_int(
            "FACE_CACHE_PURGE_INTERVAL_SECONDS", defaults.purge_interval_seconds
        ),
    )
