"""Settings of the registration service."""

from __future__ import annotations

from shared.config import Settings, load_settings

SERVICE = "registration"


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)
