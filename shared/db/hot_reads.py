"""Single-statement reads for the busiest read paths, with as little as possible between the
request and the database.

The statements stay SQLAlchemy Core (written once, dialect-neutral, compiled once). On
PostgreSQL each runs as a server-side prepared statement on one connection per thread, in
autocommit, through libpq's blocking `PQexecPrepared` (psycopg's `pgconn`), and its row is
converted by psycopg's own loaders: one round trip, the GIL released once for all of it, and
none of the engine, pool, cursor and result layers a one-row read otherwise pays for. Measured
here, that is under half the client-side CPU of the same read through SQLAlchemy
(docs/operations.md, "How fast"). On SQLite, which has no round trips to save, the service's
engine runs them.

Parameters are strings, integers or datetimes (sent as text; the compiled SQL casts them). A
connection that turns out dead is replaced and the read tried once more; a database that stays
unreachable is a `TransientError` (503), as everywhere else.

One kind of write may take this path too: a counter whose last increments may be lost in a
crash (a rate limit's window), as one `INSERT … ON CONFLICT … RETURNING` or `DELETE`. These
connections run with `synchronous_commit` off, so such a write does not wait for the WAL to
reach the disk; nothing whose loss matters may be written here (a retried write would count
twice, which a rate limit also shrugs off).
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import abc as psycopg_abc
from psycopg import pq
from psycopg.adapt import Transformer
from psycopg.errors import error_from_result
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from shared.errors import TransientError

# $1, $2, … placeholders, as PQprepare wants them.
_NUMBERED = postgresql_psycopg.dialect(paramstyle="numeric_dollar")


@dataclass(frozen=True)
class _Prepared:
    name: bytes
    sql: bytes
    order: tuple[str, ...]  # the parameters, in placeholder order
    defaults: dict[str, Any]  # values the statement carries itself (a LIMIT)
    make_row: Callable[[Sequence[Any]], Any]  # a namedtuple of the selected columns' labels


@dataclass
class _ThreadConnection:
    connection: psycopg.Connection
    transformer: psycopg_abc.Transformer
    prepared: set[bytes] = field(default_factory=set)


class HotReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect_name = engine.dialect.name
        self._postgresql = self.dialect_name == "postgresql"
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._statements: dict[int, _Prepared] = {}
        self._compiling = threading.Lock()
        self._local = threading.local()

    def first(self, statement: ExecutableReturnsRows, params: dict[str, Any]) -> Any | None:
        """The first row (a namedtuple of the selected or returned columns), or None."""
        if not self._postgresql:
            return self._first_with_engine(statement, params)
        prepared = self._prepared(statement)
        values = [
            None if value is None else str(value).encode()
            for value in (params.get(key, prepared.defaults.get(key)) for key in prepared.order)
        ]
        for attempt in (1, 2):
            state = self._thread_connection(fresh=attempt == 2)
            pgconn = state.connection.pgconn
            try:
                if prepared.name not in state.prepared:
                    self._check(pgconn, pgconn.prepare(prepared.name, prepared.sql))
                    state.prepared.add(prepared.name)
                # libpq reads None as NULL; psycopg's PGconn protocol leaves None out.
                executed = pgconn.exec_prepared(prepared.name, values)  # type: ignore[arg-type]
                result = self._check(pgconn, executed)
            except psycopg.OperationalError as exc:
                self._discard()
                if attempt == 2:
                    raise TransientError(f"database unavailable: {exc}") from exc
                continue
            if result.ntuples == 0:
                return None
            state.transformer.set_pgresult(result)
            return state.transformer.load_row(0, prepared.make_row)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._discard()

    def _prepared(self, statement: ExecutableReturnsRows) -> _Prepared:
        # Keyed by identity: the statements are module constants, compiled on first use.
        found = self._statements.get(id(statement))
        if found is not None:
            return found
        with self._compiling:  # one name per statement, whichever thread compiles it first
            found = self._statements.get(id(statement))
            if found is not None:
                return found
            compiled = statement.compile(dialect=_NUMBERED)
            # The row's fields are known only at run time, beyond what the checker can type.
            row = namedtuple("Row", statement.exported_columns.keys())  # type: ignore[misc]
            found = _Prepared(
                name=f"sscard_hot_{len(self._statements)}".encode(),
                sql=str(compiled).encode(),
                order=tuple(compiled.positiontup or ()),
                defaults=dict(compiled.params),
                make_row=row._make,
            )
            self._statements[id(statement)] = found
            return found

    @staticmethod
    def _check(pgconn: pq.abc.PGconn, result: pq.abc.PGresult) -> pq.abc.PGresult:
        if result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            return result
        if pgconn.status == pq.ConnStatus.BAD:
            raise psycopg.OperationalError("the connection to the database was lost")
        raise error_from_result(result, encoding="utf-8")  # the services' databases are UTF8

    def _thread_connection(self, *, fresh: bool) -> _ThreadConnection:
        state: _ThreadConnection | None = getattr(self._local, "state", None)
        if state is None or fresh or state.connection.closed:
            try:
                connection = psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    options="-c synchronous_commit=off",  # see the module's notes on writes
                )
            except psycopg.OperationalError as exc:
                raise TransientError(f"database unavailable: {exc}") from exc
            state = _ThreadConnection(connection, Transformer(connection))
            self._local.state = state
        return state

    def _discard(self) -> None:
        state: _ThreadConnection | None = getattr(self._local, "state", None)
        self._local.state = None
        if state is not None:
            state.connection.close()

    def _first_with_engine(
        self, statement: ExecutableReturnsRows, params: dict[str, Any]
    ) -> Any | None:
        try:
            with self.engine.begin() as connection:  # begin: a counter's write must commit
                result = connection.execute(statement, params)
                return result.first() if result.returns_rows else None
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise TransientError(f"database unavailable: {exc.orig}") from exc
            raise
