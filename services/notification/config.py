"""Settings of the notification service."""

from __future__ import annotations

from shared.config import Settings, load_settings

SERVICE = "notification"


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)
