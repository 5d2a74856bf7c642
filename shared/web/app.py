"""The app factory every service builds on: one call gives a Flask app with problem+json
errors, body rules, request ids, health, readiness, metrics and generated OpenAPI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask import Flask, current_app
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from sqlalchemy import MetaData
from werkzeug.exceptions import HTTPException

from shared.auth.revocations import REVOCATIONS_PATH, RevocationList
from shared.auth.service_tokens import ServiceTokenClient
from shared.auth.token_cache import CachingVerifier
from shared.auth.tokens import JwksClient, TokenVerifier
from shared.config import Settings
from shared.db.uow import Database
from shared.observability.http import (
    ReadinessProbe,
    broker_check,
    health_blueprint,
    register_request_context,
)
from shared.web.limits import register_body_rules
from shared.web.problems import (
    ProblemSchema,
    problem_from_http_exception,
    register_problem_handlers,
)
from shared.web.trace import trace_blueprint

API_PREFIX = "/api/v1"
JWKS_PATH = "/.well-known/jwks.json"


class ServiceFlask(Flask):
    """Flask, asking once per view or hook whether it is a coroutine function.

    Flask and flask-smorest ask it of the view, of each of its decorators' layers and of
    every before-request hook, on every request (five to eight `inspect` calls on the hot
    reads), and the answer never changes. The answers are kept for the functions an app is
    made of; a callable made afresh per call is simply asked each time."""

    _REMEMBERED = 2_000

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sync_callables: dict = {}

    def ensure_sync(self, func):
        found = self._sync_callables.get(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(self._sync_callables) < self._REMEMBERED:
                self._sync_callables[func] = found
        return found


class ServiceApi(Api):
    """flask-smorest's Api, with its errors in RFC 9457 form."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):
        return problem_from_http_exception(error)


@dataclass
class ServiceContext:
    """What a request of this service may reach: settings, its database, the token verifier."""

    settings: Settings
    database: Database
    verifier: TokenVerifier | CachingVerifier
    readiness: ReadinessProbe
    # The service's dependencies (its deps.py), built once per process; views reach them
    # through their service's `deps.current()`.
    deps: Any = None
    # The service's own scrape-time figures for `/metrics` (Prometheus collectors, e.g. a
    # backlog read from its database), beside the outbox backlog every service reports.
    collectors: list = field(default_factory=list)

    @cached_property
    def service_tokens(self) -> ServiceTokenClient:
        """The process's one service token: the service's own (`deps.service_tokens`) where its
        dependencies hold one, so the shell and the service never ask for two."""
        own = getattr(self.deps, "service_tokens", None)
        if isinstance(own, ServiceTokenClient):
            return own
        return ServiceTokenClient(
            self.settings.registration_url, self.settings.service, self.settings.internal_secret()
        )


def create_service_app(
    settings: Settings,
    metadata: MetaData,
    *,
    title: str,
    description: str,
    blueprints: Sequence[ApiBlueprint] = (),
    root_blueprints: Sequence = (),
    verifier: TokenVerifier | CachingVerifier | None = None,
    database: Database | None = None,
    deps: Any = None,
) -> Flask:
    """`blueprints` are mounted under /api/v1 and documented; `root_blueprints` at the root
    (the JWKS document, internal endpoints)."""
    app = ServiceFlask(settings.service, static_folder=None)
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # Upper bound for any body; each route narrows it (shared.web.limits).
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_SORT_KEYS=False,
    )
    database = database or Database(settings.database_url, metadata)
    verifier = verifier or CachingVerifier(
        TokenVerifier(
            JwksClient(settings.registration_url + JWKS_PATH),
            leeway=settings.token_leeway_seconds,
            # Asked for with this service's own token, once there are tokens to verify.
            revocations=RevocationList(
                settings.registration_url + REVOCATIONS_PATH,
                lambda: app.extensions["sscard"].service_tokens.headers(),
            ),
        )
    )
    readiness = ReadinessProbe({"database": database.ping, "broker": broker_check(settings)})
    app.extensions["sscard"] = ServiceContext(settings, database, verifier, readiness, deps=deps)

    register_problem_handlers(app)
    register_request_context(app)  # first: its hook notes the route before any other runs
    register_body_rules(app)
    app.register_blueprint(health_blueprint())
    app.register_blueprint(trace_blueprint())

    api = ServiceApi(
        app,
        spec_kwargs={
            "info": {"description": description},
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    # The problem schema documents every error body.
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    for blueprint in root_blueprints:
        if isinstance(blueprint, ApiBlueprint):
            api.register_blueprint(blueprint)
        else:
            app.register_blueprint(blueprint)
    register_problem_handlers(app)  # after flask-smorest, whose own handler it replaces
    return app


def service_context() -> ServiceContext:
    return current_app.extensions["sscard"]


def current_deps() -> Any:
    """The dependencies the service's app was built with (typed by each service's deps.py)."""
    return service_context().deps


def readonly_session():
    """A session for a read-only request (no events, nothing to commit)."""
    return service_context().database.session_factory()
