"""What the application service's requests need besides the database, built once per process
from its settings: options, file storage, the personal-data cipher and the peer adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError, OperationalError

from services.application import config
from services.application.accounts import AccountsClient
from services.application.storage import FileStore
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.errors import TransientError
from shared.identity_registry import IdentityRegistryClient
from shared.pii import FieldCipher

ID_NUMBER_COLUMN = "applications.id_number"
T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    # The service's own engine (shared.uow.Database), for everything but the hot reads.
    engine: Engine | None = None

    @cached_property
    def options(self) -> config.Options:
        return config.options(self.settings)

    @cached_property
    def files(self) -> FileStore:
        return FileStore(self.settings.data_dir)

    @cached_property
    def cipher(self) -> FieldCipher:
        return FieldCipher(self.settings.pii_key())

    @cached_property
    def accounts(self) -> AccountsClient:
        tokens = ServiceTokenClient(
            self.settings.registration_url, self.settings.service, self.settings.internal_secret()
        )
        return AccountsClient(self.options.accounts_url, tokens)

    @cached_property
    def identity_registry(self) -> IdentityRegistryClient:
        return IdentityRegistryClient(self.settings.identity_registry_url)

    @cached_property
    def read_engine(self) -> Engine:
        """For single-statement reads on the hot paths: autocommit (no BEGIN/ROLLBACK round
        trips) and no pre-ping (a dead connection is found by using it, and `read` retries
        once), so such a read is one round trip to PostgreSQL. SQLite has no round trips:
        there the service's own engine serves."""
        if self.engine is not None and self.engine.dialect.name != "postgresql":
            return self.engine
        return create_engine(
            self.settings.database_url,
            pool_size=self.settings.get_int("WEB_THREADS", 4),
            max_overflow=4,
            pool_pre_ping=False,
            pool_recycle=1800,
            isolation_level="AUTOCOMMIT",
        )

    def read(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` once, or twice when the first connection turned out dead."""
        for attempt in (1, 2):
            try:
                with self.read_engine.connect() as connection:
                    return work(connection)
            except DBAPIError as exc:
                if attempt == 1 and exc.connection_invalidated:
                    continue
                if isinstance(exc, OperationalError) or exc.connection_invalidated:
                    raise TransientError(f"database unavailable: {exc.orig}") from exc
                raise
        raise AssertionError("unreachable")

    def encrypt_id_number(self, id_number: str) -> str:
        return self.cipher.encrypt(id_number, column=ID_NUMBER_COLUMN)

    def decrypt_id_number(self, token: str) -> str:
        return self.cipher.decrypt(token, column=ID_NUMBER_COLUMN)

    def id_number_index(self, id_number: str) -> str:
        return self.cipher.blind_index(id_number, column=ID_NUMBER_COLUMN)
