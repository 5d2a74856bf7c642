"""The registration service's web application."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.registration import __doc__ as package_doc
from services.registration import config, deps, models
from services.registration.adapters.signing_keys import KeyRingJwks
from services.registration.api import BLUEPRINTS, ROOT_BLUEPRINTS
from services.registration.use_cases.account_states import OwnRevocations
from shared.auth.tokens import TokenVerifier
from shared.config import Settings
from shared.web.app import create_service_app


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    dependencies = deps.build(settings)
    # The signing key exists from the first start, not from the first login.
    dependencies.keys.current()
    app = create_service_app(
        settings,
        models.metadata,
        title="sscard registration",
        description=package_doc,
        blueprints=BLUEPRINTS,
        root_blueprints=ROOT_BLUEPRINTS,
        # Its own tokens are verified against its own key ring and its own accounts' states,
        # not over HTTP to itself.
        verifier=TokenVerifier(
            KeyRingJwks(dependencies.keys),
            leeway=settings.token_leeway_seconds,
            revocations=OwnRevocations(dependencies),
        ),
        database=dependencies.database,
        deps=dependencies,
    )
    hops = dependencies.options.trusted_proxy_hops
    if hops:
        # Only then is X-Forwarded-For the client's address (the per-address limits' key).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    # POST /service-tokens authenticates with the service's name and the internal secret.
    api.spec.components.security_scheme("basicAuth", {"type": "http", "scheme": "basic"})
    return app
