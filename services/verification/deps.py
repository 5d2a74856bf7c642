"""What the verification service's use cases reach: its settings, its database, the check rules
and the face cache's retention, and the adapters (the identity registry, the claim-checked
files, the face analyser and its memo, the personal-data cipher). Built once per process from
its settings (`build`), and handed to handlers and views explicitly; tests build their own,
with fake adapters set over the real ones before first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import cast

from services.verification import config, models
from services.verification.adapters.analysis_memo import AnalysisMemo
from services.verification.adapters.claim_check import ClaimedFiles
from services.verification.adapters.identity_registry import identity_registry
from services.verification.adapters.imaging import DEFAULT_ENCODER, FaceAnalyser
from services.verification.domain.rules import CheckRules
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.db.uow import Database
from shared.peers.identity_registry import IdentityRegistryClient
from shared.personal_data.protection import FieldCipher
from shared.web.app import current_deps

# The column the ID number's encryption and blind index are bound to.
ID_NUMBER_COLUMN = "verification_cases.id_number"


@dataclass
class Dependencies:
    settings: Settings
    database: Database

    @cached_property
    def rules(self) -> CheckRules:
        return config.check_rules(self.settings)

    @cached_property
    def face_cache(self) -> config.FaceCache:
        return config.face_cache(self.settings)

    @cached_property
    def registry(self) -> IdentityRegistryClient:
        return identity_registry(self.settings)

    @cached_property
    def service_tokens(self) -> ServiceTokenClient:
        settings = self.settings
        return ServiceTokenClient(
            settings.registration_url, settings.service, settings.internal_secret()
        )

    @cached_property
    def files(self) -> ClaimedFiles:
        return ClaimedFiles(
            self.service_tokens,
            base_url=self.settings.url_of("application"),
            max_bytes=self.settings.max_upload_bytes,
        )

    @cached_property
    def analyser(self) -> FaceAnalyser:
        # Only the worker analyses faces: the web process never builds the pool.
        return FaceAnalyser(
            self.settings.get_int("FACE_PROCESSES", 2),
            encoder=self.settings.get("FACE_ENCODER", DEFAULT_ENCODER),
        )

    @cached_property
    def cipher(self) -> FieldCipher:
        return FieldCipher(self.settings.pii_key())

    @cached_property
    def memo(self) -> AnalysisMemo:
        return AnalysisMemo(retention=self.face_cache.retention)

    def build_adapters(self) -> None:
        """Builds every adapter now rather than on first use: a worker finds a bad setting
        (a PII key, an encoder name) at start, not on its first message."""
        for name in (
            "rules",
            "face_cache",
            "registry",
            "service_tokens",
            "files",
            "cipher",
            "memo",
        ):
            getattr(self, name)
        self.analyser  # noqa: B018 (built now: its pool of processes starts with the worker)

    def close(self) -> None:
        """Stops the face analyser's processes, if this process started them."""
        if "analyser" in self.__dict__:
            self.analyser.close()


def build(settings: Settings, *, pool_size: int = 5) -> Dependencies:
    return Dependencies(
        settings, Database(settings.database_url, models.metadata, pool_size=pool_size)
    )


def current() -> Dependencies:
    """The dependencies of the app serving this request (for views)."""
    return cast(Dependencies, current_deps())
