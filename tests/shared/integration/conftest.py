from __future__ import annotations

import pytest

from shared.db.uow import Database
from tests.shared.integration import effects


@pytest.fixture
def service(settings_factory, fresh_broker_url):
    """The miniature effects service on its own database and its own, empty vhost."""
    settings = settings_factory(effects.SERVICE, migrate=False, amqp_url=fresh_broker_url)
    database = Database(settings.database_url, effects.metadata)
    effects.metadata.create_all(database.engine)
    effects.declare(settings)
    yield settings, database
    database.dispose()
