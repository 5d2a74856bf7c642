"""Fixtures come from shared.testing.plugin (loaded for every session in pyproject.toml)."""

# Asking for any of these (directly or through another fixture) means the real RabbitMQ or
# PostgreSQL; `--without-infrastructure` leaves such tests out.
INFRASTRUCTURE_FIXTURES = frozenset({"broker_url", "fresh_broker_url", "settings_factory"})


def pytest_addoption(parser):
    parser.addoption(
        "--compose",
        action="store_true",
        help="run the end-to-end tests against `docker compose --profile demo up` "
        "(needs a Docker engine; pytest-docker starts and removes the stack)",
    )
    parser.addoption(
        "--without-infrastructure",
        action="store_true",
        help="deselect the e2e tests and every test that asks for the broker or a database "
        f"({', '.join(sorted(INFRASTRUCTURE_FIXTURES))}); `make test-unit` uses it",
    )


def needs_infrastructure(item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(fixtures & INFRASTRUCTURE_FIXTURES) or item.get_closest_marker("e2e") is not None


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--without-infrastructure"):
        return
    deselected = [item for item in items if needs_infrastructure(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not needs_infrastructure(item)]
