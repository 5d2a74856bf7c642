"""Isolated broker vhosts and databases for tests, on the real RabbitMQ and PostgreSQL.

Each test session gets its own RabbitMQ vhost (and tests that need an empty broker get a
fresh one), and each service under test gets its own PostgreSQL database, so test runs never
see each other's messages or rows — not even when two run at once on one machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
from psycopg import sql

POSTGRES_ADMIN_URL = os.environ.get(
    "SSCARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
RABBITMQ_URL = os.environ.get("SSCARD_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def database_backend() -> str:
    """`SSCARD_TEST_DB=sqlite` runs the database-backed tests on SQLite instead."""
    return os.environ.get("SSCARD_TEST_DB", "postgresql")


def _rabbitmqctl(*args: str) -> str:
    command = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    result = subprocess.run(  # noqa: S603
        [command, *args], check=True, capture_output=True, timeout=60, text=True
    )
    return result.stdout


def _amqp_url_for(vhost: str) -> str:
    parts = urllib.parse.urlsplit(RABBITMQ_URL)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def vhost_user_prefix(amqp_url: str) -> str:
    """Broker users are global, not per vhost: a test names the ones it makes with this
    prefix (`SSCARD_BROKER_USER_PREFIX`), and they go when its vhost goes."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_url).path.lstrip("/"))
    return f"{vhost}-"


def _delete_users_with_prefix(prefix: str) -> None:
    listing = _rabbitmqctl("-q", "list_users", "--no-table-headers")
    names = [
        line.split("\t", 1)[0]
        for line in listing.splitlines()
        if line.split("\t", 1)[0].startswith(prefix)
    ]
    if names:
        # One call for all of them: each rabbitmqctl start costs a second.
        binaries = ",".join(f'<<"{name}">>' for name in names)
        with suppress(subprocess.CalledProcessError):
            _rabbitmqctl(
                "-q",
                "eval",
                "lists:foreach(fun(U) -> rabbit_auth_backend_internal:delete_user(U, "
                f'<<"sscard-tests">>) end, [{binaries}]).',
            )


@contextmanager
def isolated_vhost(label: str = "test") -> Iterator[str]:
    """A new, empty vhost for the duration; yields its AMQP URL. Broker users named with
    `vhost_user_prefix` are removed with it."""
    vhost = f"sscard-{label}-{uuid.uuid4().hex[:10]}"
    user = urllib.parse.urlsplit(RABBITMQ_URL).username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield _amqp_url_for(vhost)
    finally:
        _rabbitmqctl("delete_vhost", vhost)
        _delete_users_with_prefix(f"{vhost}-")


def close_all_broker_connections(amqp_url: str, reason: str = "test: the broker drops us") -> None:
    """What a broker restart or a network cut does to every client of one vhost."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_url).path.lstrip("/")) or "/"
    _rabbitmqctl("close_all_connections", "-p", vhost, reason)


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A new PostgreSQL database for the duration; yields its SQLAlchemy URL."""
    name = f"sscard_t_{label}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urllib.parse.urlsplit(POSTGRES_ADMIN_URL)
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    try:
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def temporary_database(label: str, directory) -> Iterator[str]:
    if database_backend() == "sqlite":
        yield f"sqlite:///{directory / f'{label}-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    with postgres_database(label) as url:
        yield url
