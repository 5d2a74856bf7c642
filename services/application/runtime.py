"""What the application service's requests need besides the database, built once per process
from its settings: options, file storage, the personal-data cipher and the peer adapters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial

from sqlalchemy import Engine

from services.application import config
from services.application.accounts import AccountsClient
from services.application.dao import dao_count_request
from services.application.rate_limit import ClientWindows
from services.application.storage import FileStore
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.hot_reads import HotReads
from shared.identity_registry import IdentityRegistryClient
from shared.pii import FieldCipher, FileCipher

ID_NUMBER_COLUMN = "applications.id_number"


@dataclass
class Runtime:
    settings: Settings
    # The service's own engine (shared.uow.Database).
    engine: Engine | None = None

    @cached_property
    def options(self) -> config.Options:
        return config.options(self.settings)

    @cached_property
    def files(self) -> FileStore:
        return FileStore(self.settings.data_dir, FileCipher(self.settings.pii_key()))

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
    def reads(self) -> HotReads:
        """The one-statement reads of the busiest paths (application view, progress) and the
        progress rate limit's counter."""
        if self.engine is None:
            raise RuntimeError("the runtime was built without the service's engine")
        return HotReads(self.engine)

    @cached_property
    def client_windows(self) -> ClientWindows:
        """This process's share of the per-client rate limit counts (rate_limit.py)."""
        return ClientWindows(partial(dao_count_request, self.reads))

    def encrypt_id_number(self, id_number: str) -> str:
        return self.cipher.encrypt(id_number, column=ID_NUMBER_COLUMN)

    def decrypt_id_number(self, token: str) -> str:
        return self.cipher.decrypt(token, column=ID_NUMBER_COLUMN)

    def id_number_index(self, id_number: str) -> str:
        return self.cipher.blind_index(id_number, column=ID_NUMBER_COLUMN)
