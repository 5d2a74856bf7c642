"""The registration service's web application."""

from __future__ import annotations

from flask import Flask

from services.registration import __doc__ as package_doc
from services.registration import config, models
from services.registration.api import BLUEPRINTS
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    return create_service_app(
        settings or config.load(),
        models.metadata,
        title="sscard registration",
        description=package_doc,
        blueprints=BLUEPRINTS,
    )
