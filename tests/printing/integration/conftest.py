"""The printing service on its own database; the application service's file endpoint played
by a small stub that checks service tokens; the demo banks seeded.

Migrating a database costs seconds on a busy machine, so tests that only drive handlers and
routes share one per module and keep to their own applications and cards; tests that consume
from queues get a database and an empty vhost of their own.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest

from services.printing.deps import build
from shared.config import env_name, load_settings
from shared.db.migrations import upgrade
from shared.testing.infrastructure import temporary_database
from shared.testing.tokens import TEST_SERVICE_SECRET
from sscardctl.seed import seed_partner_banks
from tests.printing.factories import FileServer


@pytest.fixture(scope="module")
def files(token_authority):
    server = FileServer(token_authority)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def printing(tmp_path_factory, broker_url, token_authority, files):
    """(settings, deps) with the demo banks, shared by a module's tests, on the session's
    vhost (so: no consuming from queues here)."""
    directory = tmp_path_factory.mktemp("printing")
    with ExitStack() as stack:
        database_url = stack.enter_context(temporary_database("printing", directory))
        settings = load_settings(
            "printing",
            {
                **os.environ,
                env_name("printing", "DATABASE_URL"): database_url,
                "AMQP_URL": broker_url,
                "SSCARD_VAR_DIR": str(directory / "var"),
                "REGISTRATION_URL": token_authority.url,
                "APPLICATION_URL": files.url,
                "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
                "SSCARD_RETRY_DELAYS_MS": "100,200,400",
                "LOG_FORMAT": "text",
            },
        )
        upgrade(settings)
        seed_partner_banks(settings)
        deps = build(settings)
        yield settings, deps
        deps.database.dispose()


@pytest.fixture
def printing_on_own_broker(settings_factory, fresh_broker_url, files):
    """A database and an empty vhost of its own, for tests that consume what is published."""
    settings = settings_factory("printing", amqp_url=fresh_broker_url, APPLICATION_URL=files.url)
    seed_partner_banks(settings)
    deps = build(settings)
    yield settings, deps
    deps.database.dispose()
