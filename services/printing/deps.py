"""The bank printing service's dependencies, built once per process: its settings and options,
its database, the personal-data ciphers, and the adapters to the world outside it. The one way
routes, handlers and use cases reach any of them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import cast

from services.printing import config, models
from services.printing.adapters.application_files import ApplicationFiles
from services.printing.adapters.print_queues import PrintQueues
from services.printing.adapters.signing_keys import ecard_signing_keys, print_signing_keys
from shared.auth.keys import KeyRing
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.db.uow import Database
from shared.personal_data.protection import FieldCipher, FileCipher
from shared.web.app import current_deps


@dataclass
class Dependencies:
    settings: Settings
    database: Database
    options: config.Options

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
    def application_files(self) -> ApplicationFiles:
        return ApplicationFiles(
            self.service_tokens,
            base_url=self.settings.url_of("application"),
            max_bytes=self.settings.max_upload_bytes,
        )

    @cached_property
    def print_keys(self) -> KeyRing:
        return print_signing_keys(self.settings)

    @cached_property
    def ecard_keys(self) -> KeyRing:
        return ecard_signing_keys(self.settings)

    @cached_property
    def print_queues(self) -> PrintQueues:
        return PrintQueues(self.settings)


def build(settings: Settings, *, pool_size: int = 5) -> Dependencies:
    return Dependencies(
        settings=settings,
        database=Database(settings.database_url, models.metadata, pool_size=pool_size),
        options=config.options(settings),
    )


def current() -> Dependencies:
    """The dependencies of the app serving this request."""
    return cast(Dependencies, current_deps())
