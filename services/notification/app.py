"""The notification service's web application."""

from __future__ import annotations

from flask import Flask

from services.notification import __doc__ as package_doc
from services.notification import config, models
from services.notification.api import BLUEPRINTS
from services.notification.deps import build
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    deps = build(settings)
    return create_service_app(
        settings,
        models.metadata,
        title="sscard notification",
        description=package_doc,
        blueprints=BLUEPRINTS,
        database=deps.database,
        deps=deps,
    )
