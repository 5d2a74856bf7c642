"""The pytest plugin every sscard test session loads (`-p shared.testing.plugin`).

Unit tests get an environment whose broker and database addresses cannot resolve, so a unit
test that forgets to isolate itself fails loudly instead of touching a real service.
Integration tests ask for `settings_factory`, which gives each service under test its own
database (PostgreSQL by default, `SSCARD_TEST_DB=sqlite` for SQLite) on the session's own
RabbitMQ vhost, migrated to the newest schema.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from shared.config import SERVICES, Settings, env_name, load_settings

UNREACHABLE = "unit-tests-must-isolate.invalid"


def pytest_configure(config: pytest.Config) -> None:
    # The suite runs as a laptop does (generated keys, test secrets): the demo profile. Tests
    # of production's refusals set SSCARD_PROFILE themselves.
    os.environ.setdefault("SSCARD_PROFILE", "demo")
    os.environ["AMQP_URL"] = f"amqp://guest:guest@{UNREACHABLE}:5672/%2F"
    for service in SERVICES:
        os.environ[env_name(service, "DATABASE_URL")] = f"postgresql://{UNREACHABLE}/none"
    os.environ["REGISTRATION_URL"] = f"http://{UNREACHABLE}"
    os.environ["IDENTITY_REGISTRY_URL"] = f"http://{UNREACHABLE}"


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """The session's own RabbitMQ vhost."""
    from shared.testing.infrastructure import isolated_vhost

    with isolated_vhost("session") as url:
        yield url


@pytest.fixture
def fresh_broker_url() -> Iterator[str]:
    """An empty vhost for one test that must see nothing but its own messages."""
    from shared.testing.infrastructure import isolated_vhost

    with isolated_vhost("test") as url:
        yield url


@pytest.fixture(scope="session")
def token_authority(tmp_path_factory) -> Iterator:
    from shared.testing.tokens import TokenAuthority

    authority = TokenAuthority(tmp_path_factory.mktemp("token-keys")).start()
    yield authority
    authority.stop()


@pytest.fixture
def settings_factory(
    tmp_path: Path, broker_url: str, token_authority
) -> Iterator[Callable[..., Settings]]:
    """`settings_factory("application", migrate=True, amqp_url=None, **env)` → Settings for
    one service on a fresh, migrated database of its own."""
    from shared.db.migrations import upgrade
    from shared.testing.infrastructure import temporary_database
    from shared.testing.tokens import TEST_SERVICE_SECRET

    with ExitStack() as stack:

        def make(
            service: str, *, migrate: bool = True, amqp_url: str | None = None, **env: str
        ) -> Settings:
            database_url = stack.enter_context(temporary_database(service, tmp_path))
            environ = {
                **os.environ,
                env_name(service, "DATABASE_URL"): database_url,
                "AMQP_URL": amqp_url or broker_url,
                "SSCARD_VAR_DIR": str(tmp_path / "var"),
                "REGISTRATION_URL": token_authority.url,
                "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
                "SSCARD_RETRY_DELAYS_MS": "100,200,400",
                "SSCARD_RELAY_POLL_INTERVAL": "0.01",
                "LOG_FORMAT": "text",
                **env,
            }
            settings = load_settings(service, environ)
            if migrate:
                upgrade(settings)
            return settings

        yield make
