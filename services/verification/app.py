"""The verification service's web application."""

from __future__ import annotations

from flask import Flask

from services.verification import __doc__ as package_doc
from services.verification import config, models
from services.verification.api import BLUEPRINTS
from services.verification.api.backlog import CaseBacklogCollector
from services.verification.deps import Dependencies, build
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None, *, deps: Dependencies | None = None) -> Flask:
    """The app on `deps` (built from `settings` unless given: a test may bring its own)."""
    deps = deps or build(settings or config.load())
    app = create_service_app(
        deps.settings,
        models.metadata,
        title="sscard verification",
        description=package_doc,
        blueprints=BLUEPRINTS,
        database=deps.database,
        deps=deps,
    )
    app.extensions["sscard"].collectors.append(CaseBacklogCollector(deps.database))
    return app
