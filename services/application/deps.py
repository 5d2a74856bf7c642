"""What the application service's requests, handlers and jobs need besides their transaction,
built once per process from its settings: the database, options, file storage, the ID-number
cipher, the peer adapters and the hot reads. The one way anything reaches them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import cast

from services.application import config, models
from services.application.adapters.accounts import AccountsClient
from services.application.adapters.id_numbers import IdNumberCipher
from services.application.adapters.storage import FileStore
from services.application.dao import dao_count_request
from services.application.domain.rate_window import ClientWindows
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.db.hot_reads import HotReads
from shared.db.uow import Database
from shared.peers.identity_registry import IdentityRegistryClient
from shared.personal_data.protection import FieldCipher, FileCipher
from shared.web.app import current_deps


@dataclass
class Dependencies:
    settings: Settings
    database: Database

    @cached_property
    def options(self) -> config.Options:
        return config.options(self.settings)

    @cached_property
    def files(self) -> FileStore:
        return FileStore(self.settings.data_dir, FileCipher(self.settings.pii_key()))

    @cached_property
    def id_numbers(self) -> IdNumberCipher:
        return IdNumberCipher(FieldCipher(self.settings.pii_key()))

    @cached_property
    def service_tokens(self) -> ServiceTokenClient:
        """This process's one service token (the shell's revocation list uses it too), asked
        for with the accounts timeout: a slow registration is a quick 503 here."""
        return ServiceTokenClient(
            self.settings.registration_url,
            self.settings.service,
            self.settings.internal_secret(),
            timeout=self.options.accounts_timeout_seconds,
        )

    @cached_property
    def accounts(self) -> AccountsClient:
        """The registration service's identity check, with short timeouts: a slow registration
        turns into quick 503s here, not into this service's workers all waiting."""
        timeout = self.options.accounts_timeout_seconds
        return AccountsClient(
            self.options.accounts_url, self.service_tokens, timeout=(1.0, timeout)
        )

    @cached_property
    def identity_registry(self) -> IdentityRegistryClient:
        return IdentityRegistryClient(self.settings.identity_registry_url)

    @cached_property
    def reads(self) -> HotReads:
        """The one-statement reads of the busiest paths (application view, progress) and the
        progress rate limit's counter."""
        return HotReads(self.database.engine)

    @cached_property
    def client_windows(self) -> ClientWindows:
        """This process's share of the per-client rate limit counts (api/rate_limit.py)."""
        return ClientWindows(partial(dao_count_request, self.reads))


def build(settings: Settings, *, pool_size: int = 5) -> Dependencies:
    return Dependencies(
        settings, Database(settings.database_url, models.metadata, pool_size=pool_size)
    )


def current() -> Dependencies:
    """The dependencies of the app serving this request."""
    return cast(Dependencies, current_deps())
