"""The registration service for integration tests: one migrated database per test module (the
tests in a module use distinct phones and ID numbers, so they never collide, and a database per
test would cost more than the tests themselves), the Flask app, a settable clock, and the same
app served on a real local port for verifiers in "another service". The identity registry and
the SMS gateway (with the carrier check) are their real simulators on local ports.

Every test client shares one address, so the per-address limits are off here and a phone may
ask for a new code at once; the tests of those limits switch them on (`limits` fixture)."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from services.registration.app import create_app
from services.registration.deps import Dependencies
from shared.config import load_settings
from shared.db.migrations import upgrade
from shared.testing.infrastructure import temporary_database
from shared.testing.tokens import TEST_SERVICE_SECRET
from shared.time import utcnow
from tests.registration.factories import (
    FAST_HASHING,
    Outside,
    SettableClock,
    outside_environ,
    with_outside,
)
from tests.support.identity_registry import RegistryServer
from tests.support.sms_gateway import SmsGatewayServer


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    directory = tmp_path_factory.mktemp("outside")
    registry, sms = RegistryServer(directory), SmsGatewayServer(directory)
    yield Outside(registry, sms)
    registry.stop()
    sms.stop()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, broker_url, token_authority, outside):
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
                **outside_environ(outside),
                **FAST_HASHING,
            },
        )
        upgrade(settings)
        yield settings


@pytest.fixture(scope="module")
def app(settings, outside):
    app = with_outside(create_app(settings), outside)
    app.testing = True
    yield app
    app.extensions["sscard"].database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock(app):
    clock = SettableClock()
    dependencies: Dependencies = app.extensions["sscard"].deps
    dependencies.clock = clock
    yield clock
    dependencies.clock = utcnow


@pytest.fixture(scope="module")
def live_url(app):
    """The app on a real port, as other services reach it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def limits(app):
    """Switches on the per-address limit (`limits(address=3)`) and the per-phone resend
    interval (`limits(resend=60)`) for one test."""
    dependencies: Dependencies = app.extensions["sscard"].deps
    saved = dependencies.address_limit, dependencies.code_rules

    def switch_on(*, address: int | None = None, resend: int | None = None) -> None:
        if address is not None:
            dependencies.address_limit = replace(dependencies.address_limit, limit=address)
        if resend is not None:
            dependencies.code_rules = replace(
                dependencies.code_rules, resend_interval=timedelta(seconds=resend)
            )

    yield switch_on
    dependencies.address_limit, dependencies.code_rules = saved
