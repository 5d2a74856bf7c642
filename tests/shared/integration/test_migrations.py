"""Every service's migrations build exactly the schema its models describe, so a model changed
without a migration (or the reverse) fails here rather than in a deployment."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import UniqueConstraint, create_engine

from shared.config import SERVICES
from shared.db.migrations import service_metadata


def _known_naming_difference(diff) -> bool:
    """Revision 0001 creates the outbox's unique event_id under the database's default name
    (the models name it uq_outbox_event_id): the same constraint, differently named."""
    kind, item = diff[0], diff[1]
    return (
        kind in ("add_constraint", "remove_constraint")
        and isinstance(item, UniqueConstraint)
        and item.table.name == "outbox"
        and [column.name for column in item.columns] == ["event_id"]
    )


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_build_what_the_models_describe(settings_factory, service):
    settings = settings_factory(service)  # migrated to the newest revision
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            diffs = compare_metadata(
                MigrationContext.configure(connection), service_metadata(service)
            )
    finally:
        engine.dispose()
    assert [diff for diff in diffs if not _known_naming_difference(diff)] == []
