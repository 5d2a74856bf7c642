"""The registration service for integration tests: one migrated database per test module (the
tests in a module use distinct phones and ID numbers, so they never collide, and a database per
test would cost more than the tests themselves), the Flask app, a settable clock, and the same
app served on a real local port for verifiers in "another service"."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server

from services.registration.app import create_app
from services.registration.runtime import runtime
from shared.config import load_settings
from shared.db import utcnow
from shared.migrations import upgrade
from shared.testing.infrastructure import temporary_database
from shared.testing.tokens import TEST_SERVICE_SECRET

# Cheap argon2 for tests; the production cost is RFC 9106's (services.registration.config).
FAST_HASHING = {
    "REGISTRATION_ARGON2_TIME_COST": "1",
    "REGISTRATION_ARGON2_MEMORY_KIB": "8192",
    "REGISTRATION_ARGON2_PARALLELISM": "1",
}


class SettableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker_url, token_authority):
    """Like `settings_factory("registration")`, for a whole module."""
    directory = tmp_path_factory.mktemp("registration")
    with temporary_database("registration", directory) as database_url:
        settings = load_settings(
            "registration",
            {
                **os.environ,
                "REGISTRATION_DATABASE_URL": database_url,
                "AMQP_URL": broker_url,
                "SSCARD_VAR_DIR": str(directory / "var"),
                "REGISTRATION_URL": token_authority.url,
                "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
                "LOG_FORMAT": "text",
                **FAST_HASHING,
            },
        )
        upgrade(settings)
        yield settings


@pytest.fixture(scope="module")
def app(settings):
    app = create_app(settings)
    app.testing = True
    yield app
    app.extensions["sscard"].database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock(app):
    clock = SettableClock()
    with app.app_context():
        runtime().clock = clock
        yield clock
        runtime().clock = utcnow


@pytest.fixture(scope="module")
def live_url(app):
    """The app on a real port, as other services reach it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
