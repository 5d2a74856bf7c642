"""The application service's web application."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from services.application import __doc__ as package_doc
from services.application import config, models
from services.application.api import BLUEPRINTS, ROOT_BLUEPRINTS
from services.application.runtime import Runtime
from services.application.token_cache import CachingVerifier
from shared.config import Settings
from shared.web.app import create_service_app
from shared.web.problems import problem

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    app = create_service_app(
        settings,
        models.metadata,
        title="sscard application",
        description=package_doc,
        blueprints=BLUEPRINTS,
        root_blueprints=ROOT_BLUEPRINTS,
    )
    context = app.extensions["sscard"]
    context.verifier = CachingVerifier(context.verifier)
    runtime = Runtime(settings, context.database.engine)
    context.extras["runtime"] = runtime
    app.register_error_handler(OperationalError, _database_unavailable)
    hops = runtime.options.trusted_proxy_hops
    if hops:
        # Only then is X-Forwarded-For the client's address (the progress rate limit's key).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    return app


def _database_unavailable(error: OperationalError):
    """The database is down, restarting or (SQLite) busy: the request may succeed later, so
    503 with Retry-After rather than the 500 of an unexpected error."""
    log.warning("database unavailable: %s", error.orig)
    return problem(
        503,
        "Service unavailable",
        "The database is unavailable; try again.",
        slug="unavailable",
        headers={"Retry-After": "5"},
    )
