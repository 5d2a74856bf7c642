"""Fixtures shared by the application service's unit and integration tests."""

from __future__ import annotations

import pytest

from tests.support import images


@pytest.fixture(scope="session")
def bomb() -> bytes:
    """A 20000×20000 PNG of a few dozen KB (made once: making it takes seconds)."""
    return images.decompression_bomb()
