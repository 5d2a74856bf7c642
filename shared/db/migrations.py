"""Alembic, run programmatically for any service.

Each service keeps only its revision files, in `services/<service>/migrations/versions/`; the
environment script and the revision template are shared (`shared/db/alembic/`), so five services
do not carry five copies of the same boilerplate.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from sqlalchemy import MetaData

from shared.config import Settings
from shared.db.tables import add_messaging_tables

SHARED_SCRIPT_LOCATION = Path(__file__).with_name("alembic")
REPO_ROOT = Path(__file__).resolve().parents[2]


def versions_dir(service: str) -> Path:
    return REPO_ROOT / "services" / service / "migrations" / "versions"


def service_metadata(service: str) -> MetaData:
    return importlib.import_module(f"services.{service}.models").metadata


def alembic_config(settings: Settings, *, metadata: MetaData | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SHARED_SCRIPT_LOCATION))
    config.set_main_option("version_locations", str(versions_dir(settings.service)))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = settings.database_url
    config.attributes["metadata"] = metadata or service_metadata(settings.service)
    config.attributes["service"] = settings.service
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def create_messaging_tables() -> None:
    """For a service's first revision: the outbox, inbox and idempotency tables."""
    metadata = MetaData()
    add_messaging_tables(metadata)
    for table in metadata.sorted_tables:
        table.create(op.get_bind())


def drop_messaging_tables() -> None:
    metadata = MetaData()
    add_messaging_tables(metadata)
    for table in reversed(metadata.sorted_tables):
        table.drop(op.get_bind())
