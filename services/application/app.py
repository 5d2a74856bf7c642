"""The application service's web application."""

from __future__ import annotations

from flask import Flask

from services.application import __doc__ as package_doc
from services.application import config, models
from services.application.api import BLUEPRINTS
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    return create_service_app(
        settings or config.load(),
        models.metadata,
        title="sscard application",
        description=package_doc,
        blueprints=BLUEPRINTS,
    )
