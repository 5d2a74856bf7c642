from __future__ import annotations

from contextlib import ExitStack

import pytest

from tests.e2e.stack import start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """Every process of the platform, started once for the end-to-end tests."""
    with ExitStack() as exit_stack:
        yield start_stack(tmp_path_factory.mktemp("e2e"), exit_stack)
