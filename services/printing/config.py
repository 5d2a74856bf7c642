"""Settings of the bank printing service."""

from __future__ import annotations

from shared.config import Settings, load_settings

SERVICE = "printing"


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)
