"""The application service's web application."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.application import __doc__ as package_doc
from services.application import config, models
from services.application.api import BLUEPRINTS, ROOT_BLUEPRINTS
from services.application.deps import build
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    deps = build(settings)
    app = create_service_app(
        settings,
        models.metadata,
        title="sscard application",
        description=package_doc,
        blueprints=BLUEPRINTS,
        root_blueprints=ROOT_BLUEPRINTS,
        database=deps.database,
        deps=deps,
    )
    hops = deps.options.trusted_proxy_hops
    if hops:
        # Only then is X-Forwarded-For the client's address (the progress rate limit's key).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    return app
