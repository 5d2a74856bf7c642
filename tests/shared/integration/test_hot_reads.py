"""shared.db.hot_reads on the real PostgreSQL (its libpq path) and on SQLite (the engine path):
the same rows either way, and a lost connection costs a retry, not an error."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, create_engine, select

from shared.db.hot_reads import HotReads
from shared.db.tables import UTCDateTime
from shared.errors import TransientError
from shared.testing.infrastructure import POSTGRES_ADMIN_URL, postgres_database

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("name", String(60)),
    Column("seen_at", UTCDateTime),
    Column("rank", Integer),
)
BY_ID = select(people.c.name, people.c.seen_at.label("last_seen")).where(
    people.c.person_id == bindparam("person_id")
)
# A LIMIT carries its own parameter, which the caller never passes.
HIGHEST_RANKED_NAMED = (
    select(people.c.person_id)
    .where(people.c.name == bindparam("name"))
    .order_by(people.c.rank.desc())
    .limit(1)
)
SEEN = datetime(2026, 11, 25, 8, 30, 15, 250000, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        with postgres_database("hot_reads") as url:
            engine = create_engine(url)
            yield from _filled(engine)
    else:
        yield from _filled(create_engine(f"sqlite:///{tmp_path / 'hot.sqlite3'}"))


def _filled(engine):
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            people.insert(),
            [
                {"person_id": "p-1", "name": "王芳", "seen_at": SEEN, "rank": 1},
                {"person_id": "p-2", "name": "王芳", "seen_at": SEEN, "rank": 7},
                {"person_id": "p-3", "name": "李娜", "seen_at": None, "rank": 3},
            ],
        )
    yield engine
    engine.dispose()


def test_rows_come_back_by_label_with_their_types(engine):
    reads = HotReads(engine)
    row = reads.first(BY_ID, {"person_id": "p-1"})
    assert (row.name, row.last_seen) == ("王芳", SEEN)
    assert reads.first(BY_ID, {"person_id": "p-3"}).last_seen is None
    assert reads.first(HIGHEST_RANKED_NAMED, {"name": "王芳"}).person_id == "p-2"
    reads.close()


def test_no_row_is_none(engine):
    reads = HotReads(engine)
    assert reads.first(BY_ID, {"person_id": "nobody"}) is None
    assert reads.first(HIGHEST_RANKED_NAMED, {"name": "nobody"}) is None
    reads.close()


def test_every_thread_reads_on_its_own_connection(engine):
    reads = HotReads(engine)
    answers, errors = [], []

    def read_many(person_id: str) -> None:
        try:
            for _ in range(50):
                answers.append((person_id, reads.first(BY_ID, {"person_id": person_id}).name))
        except Exception as exc:  # collected: an assert in a thread would go unseen
            errors.append(exc)

    threads = [threading.Thread(target=read_many, args=(p,)) for p in ("p-1", "p-3") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(set(answers)) == [("p-1", "王芳"), ("p-3", "李娜")]
    assert len(answers) == 300


def test_a_connection_killed_under_the_reader_is_replaced():
    with postgres_database("hot_reads_killed") as url:
        engine = create_engine(url)
        list(_filled(engine))  # fills, then disposes the engine's own pool
        reads = HotReads(engine)
        assert reads.first(BY_ID, {"person_id": "p-1"}).name == "王芳"
        database = engine.url.database
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        assert killed
        assert reads.first(BY_ID, {"person_id": "p-1"}).name == "王芳"
        reads.close()
        engine.dispose()


def test_an_unreachable_database_is_a_transient_error():
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(TransientError):
        HotReads(engine).first(BY_ID, {"person_id": "p-1"})
