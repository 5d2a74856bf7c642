"""The bank printing service's web application."""

from __future__ import annotations

from flask import Flask

from services.printing import __doc__ as package_doc
from services.printing import config, models
from services.printing.api import BLUEPRINTS
from services.printing.deps import build
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    deps = build(settings)
    return create_service_app(
        settings,
        models.metadata,
        title="sscard printing",
        description=package_doc,
        blueprints=BLUEPRINTS,
        database=deps.database,
        deps=deps,
    )
