"""Settings of the verification service."""

from __future__ import annotations

from shared.config import Settings, load_settings

SERVICE = "verification"


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)
