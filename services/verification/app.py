"""The verification service's web application."""

from __future__ import annotations

from flask import Flask

from services.verification import __doc__ as package_doc
from services.verification import config, models
from services.verification.api import BLUEPRINTS
from services.verification.backlog import CaseBacklogCollector
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    app = create_service_app(
        settings or config.load(),
        models.metadata,
        title="sscard verification",
        description=package_doc,
        blueprints=BLUEPRINTS,
    )
    context = app.extensions["sscard"]
    context.collectors.append(CaseBacklogCollector(context.database))
    return app
