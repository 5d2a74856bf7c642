"""A service's database in memory, for unit tests of its use cases: the real tables, the real
unit of work and outbox, no file and no server, made in milliseconds."""

from __future__ import annotations

from sqlalchemy import MetaData

from shared.db.uow import Database


def memory_database(metadata: MetaData) -> Database:
    """A fresh, empty SQLite database in memory with every table of `metadata`."""
    database = Database("sqlite://", metadata)
    metadata.create_all(database.engine)
    return database
