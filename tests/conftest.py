"""Fixtures come from shared.testing.plugin (loaded for every session in pyproject.toml)."""


def pytest_addoption(parser):
    parser.addoption(
        "--compose",
        action="store_true",
        help="run the end-to-end tests against `docker compose --profile demo up` "
        "(needs a Docker engine; pytest-docker starts and removes the stack)",
    )
