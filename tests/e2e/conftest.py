from __future__ import annotations

import os
from contextlib import ExitStack

import pytest

from shared.testing.receivers import Receiver
from shared.testing.waiting import wait_until
from tests.e2e.stack import ROOT, start_stack


@pytest.fixture(scope="session")
def stack(request, tmp_path_factory):
    """Every process of the platform, started once for the end-to-end tests: as `make run`
    starts them, or with `pytest --compose` as docker-compose does."""
    if request.config.getoption("--compose"):
        yield compose_stack(request)
        return
    with ExitStack() as exit_stack:
        yield start_stack(tmp_path_factory.mktemp("e2e"), exit_stack)


def compose_stack(request):
    from tests.e2e.compose import ComposeStack, compose_environment

    os.environ.update(compose_environment())
    request.getfixturevalue("docker_services")
    stack = ComposeStack(
        request.getfixturevalue("docker_compose_project_name"), request.getfixturevalue("docker_ip")
    )
    wait_until(lambda: _answers(stack), timeout=300, interval=2, what="every container ready")
    return stack


def _answers(stack) -> bool:
    try:
        stack.wait_ready(timeout=1)
        return True
    except AssertionError:
        return False


@pytest.fixture(scope="session")
def docker_compose_file():
    return str(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_setup():
    return ["--profile demo up --build -d"]


@pytest.fixture(scope="session")
def docker_cleanup():
    return ["--profile demo down -v"]


@pytest.fixture
def receiver(stack):
    receiver = Receiver(default=204, public_host=stack.webhook_host).start()
    yield receiver
    receiver.stop()
