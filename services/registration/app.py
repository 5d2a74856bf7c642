"""The registration service's web application."""

from __future__ import annotations

from flask import Flask

from services.registration import __doc__ as package_doc
from services.registration import config, models
from services.registration.api import BLUEPRINTS, ROOT_BLUEPRINTS
from services.registration.runtime import build_runtime
from services.registration.tokens import KeyRingJwks
from shared.auth.tokens import TokenVerifier
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    runtime = build_runtime(settings)
    # The signing key exists from the first start, not from the first login.
    runtime.keys.current()
    app = create_service_app(
        settings,
        models.metadata,
        title="sscard registration",
        description=package_doc,
        blueprints=BLUEPRINTS,
        root_blueprints=ROOT_BLUEPRINTS,
        # Its own tokens are verified against its own key ring, not over HTTP to itself.
        verifier=TokenVerifier(KeyRingJwks(runtime.keys), leeway=settings.token_leeway_seconds),
    )
    app.extensions["sscard"].extras["registration"] = runtime
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    # POST /service-tokens authenticates with the service's name and the internal secret.
    api.spec.components.security_scheme("basicAuth", {"type": "http", "scheme": "basic"})
    return app
