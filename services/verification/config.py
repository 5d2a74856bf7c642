"""Settings of the verification service: the shared ones plus the check rules (DOMAIN.md's
photo geometry and file size window, the face-match thresholds), each overridable by
environment variable (`VERIFICATION_<NAME>` or `<NAME>`)."""

from __future__ import annotations

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
