"""The application service under test: its Flask app on a migrated database of its own (one per
test module, so a module's tests share it and stay apart by using their own citizens), beside
real-HTTP stand-ins for the registration service's account endpoint and the identity registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask

from services.application.app import create_app
from services.application.deps import Dependencies
from shared.config import Settings, load_settings
from shared.db.migrations import upgrade
from shared.db.uow import Database
from shared.testing.infrastructure import temporary_database
from shared.testing.tokens import TEST_SERVICE_SECRET
from tests.application.factories import People
from tests.application.integration.peers import FakeAccounts, serve_identity_registry

APPLICATION_URL = "http://application.internal:8002"


@dataclass
class Service:
    settings: Settings
    app: Flask

    @property
    def database(self) -> Database:
        return self.app.extensions["sscard"].database

    @property
    def deps(self) -> Dependencies:
        return self.app.extensions["sscard"].deps

    def client(self):
        return self.app.test_client()

    def with_settings(self, **env: str) -> Service:
        """The same service (same database) built with other settings."""
        settings = load_settings("application", {**self.settings.environ, **env})
        app = create_app(settings)
        app.testing = True
        return Service(settings, app)


@pytest.fixture(scope="session")
def accounts() -> Iterator[FakeAccounts]:
    fake = FakeAccounts().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    with serve_identity_registry(tmp_path_factory.mktemp("registry") / "people.sqlite3") as server:
        yield server


@pytest.fixture(scope="session")
def people(accounts, token_authority, registry) -> People:
    return People(accounts, token_authority, registry)


def application_settings(
    database_url: str, var_dir, amqp_url: str, token_authority, accounts, registry, **env: str
) -> Settings:
    """What `settings_factory` gives, plus where this service's peers are."""
    return load_settings(
        "application",
        {
            **os.environ,
            "APPLICATION_DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "SSCARD_VAR_DIR": str(var_dir),
            "REGISTRATION_URL": token_authority.url,
            "APPLICATION_ACCOUNTS_URL": accounts.url,
            "IDENTITY_REGISTRY_URL": registry.url,
            "APPLICATION_URL": APPLICATION_URL,
            "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
            "SSCARD_RETRY_DELAYS_MS": "100,200,400",
            "SSCARD_RELAY_POLL_INTERVAL": "0.01",
            "LOG_FORMAT": "text",
            **env,
        },
    )


@contextmanager
def running_service(directory, amqp_url: str, token_authority, accounts, registry, **env: str):
    """The service's app on a fresh, migrated database of its own."""
    with temporary_database("application", directory) as database_url:
        settings = application_settings(
            database_url, directory / "var", amqp_url, token_authority, accounts, registry, **env
        )
        upgrade(settings)
        app = create_app(settings)
        app.testing = True
        service = Service(settings, app)
        try:
            yield service
        finally:
            service.database.dispose()


@pytest.fixture(scope="module")
def service(tmp_path_factory, token_authority, accounts, registry) -> Iterator[Service]:
    """For HTTP tests: no broker (the web process only writes to its outbox)."""
    with running_service(
        tmp_path_factory.mktemp("application"),
        os.environ["AMQP_URL"],  # unreachable: a test that needs the broker says so
        token_authority,
        accounts,
        registry,
    ) as service:
        yield service


@pytest.fixture
def client(service):
    return service.client()
