"""The printing service's database handle, carrying what its handlers need beside the tables.

Handlers receive only a unit of work; the things they use that come from the settings — the
personal-data ciphers, the service-token client for claim checks, the print-signing key ring —
travel with the database handle the worker (or the web app) was built with.
"""

from __future__ import annotations

from functools import cached_property

from services.printing import models
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.keys import KeyRing
from shared.pii import FieldCipher, FileCipher
from shared.uow import Database, UnitOfWork

PRINT_KEY_RING = "printing-print"


class PrintingDatabase(Database):
    def __init__(self, settings: Settings, *, pool_size: int = 5) -> None:
        super().__init__(settings.database_url, models.metadata, pool_size=pool_size)
        self.settings = settings

    @cached_property
    def cipher(self) -> FieldCipher:
        return FieldCipher(self.settings.pii_key())

    @cached_property
    def photo_cipher(self) -> FileCipher:
        """Seals the applicant's photo copy at rest, as the application service seals its
        files: a backup of this database alone shows no one's face."""
        return FileCipher(self.settings.pii_key())

    @cached_property
    def service_tokens(self) -> ServiceTokenClient:
        return ServiceTokenClient(
            self.settings.registration_url, self.settings.service, self.settings.internal_secret()
        )

    @cached_property
    def print_keys(self) -> KeyRing:
        """Generated on first use under the keys directory (0700/0600, never in git)."""
        return KeyRing(self.settings.keys_dir / PRINT_KEY_RING)


def printing_database(uow: UnitOfWork) -> PrintingDatabase:
    database = uow.database
    if not isinstance(database, PrintingDatabase):
        raise TypeError("the printing service's handlers need a PrintingDatabase")
    return database
