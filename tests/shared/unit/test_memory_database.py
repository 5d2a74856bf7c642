"""The in-memory database use-case unit tests run on is one database across sessions, and a
unit of work on it commits state and outbox together or neither."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, Integer, String, Table, func, select

from shared.db.tables import new_metadata
from shared.db.uow import UnitOfWork
from shared.testing.memory import memory_database

CANCELLED = {"application_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4())}


@pytest.fixture
def database():
    metadata = new_metadata()
    Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(20)))
    return memory_database(metadata)


def count(database, table) -> int:
    with database.session_factory() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_what_one_unit_of_work_commits_the_next_session_sees(database):
    things = database.metadata.tables["things"]
    with UnitOfWork(database, "application") as uow:
        uow.session.execute(things.insert().values(name="card"))
        uow.add_event("application.cancelled", CANCELLED)
        uow.commit()
    assert count(database, things) == 1
    assert count(database, database.outbox.table) == 1


def test_a_unit_of_work_left_without_commit_leaves_nothing(database):
    things = database.metadata.tables["things"]
    with UnitOfWork(database, "application") as uow:
        uow.session.execute(things.insert().values(name="card"))
        uow.add_event("application.cancelled", CANCELLED)
    assert count(database, things) == 0
    assert count(database, database.outbox.table) == 0
