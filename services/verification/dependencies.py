"""What the verification worker's handlers and the review API reach beyond their database:
the identity registry, the claim-check files, the face analyser, the personal-data cipher and
the check rules. Built once per process from its settings; tests install their own."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.verification import config
from services.verification.domain.rules import CheckRules
from services.verification.imaging import DEFAULT_ENCODER, FaceAnalyser
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.db import utcnow
from shared.identity_registry import IdentityRegistryClient
from shared.pii import FieldCipher

ID_NUMBER_COLUMN = "verification_cases.id_number"


class AnalysisMemo:
    """The most recent face analyses by image digest, in this process: a message retried with
    its batch neighbours does not pay for their faces twice. Each entry keeps when its analysis
    was made (not when it was last used), so that an analysis older than the face cache's
    retention is no more reused from here than from the database."""

    def __init__(
        self,
        size: int = 256,
        *,
        retention: timedelta = config.DEFAULT_FACE_CACHE_RETENTION,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.size = size
        self.retention = retention
        self._clock = clock
        self._items: OrderedDict[str, tuple[dict, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            value, analysed_at = item
            if analysed_at < self._not_before():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: str, value: dict, *, analysed_at: datetime | None = None) -> None:
        """Keeps `value`, analysed at `analysed_at` (now unless told: a result from the
        database brings its own time)."""
        with self._lock:
            self._items[key] = (value, self._clock() if analysed_at is None else analysed_at)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget_expired(self) -> int:
        """Drops the entries past the retention, so that an idle process does not hold them
        either; how many."""
        with self._lock:
            not_before = self._not_before()
            expired = [key for key, (_, at) in self._items.items() if at < not_before]
            for key in expired:
                del self._items[key]
            return len(expired)

    def _not_before(self) -> datetime:
        return self._clock() - self.retention


@dataclass
class Dependencies:
    settings: Settings
    rules: CheckRules
    registry: IdentityRegistryClient
    tokens: ServiceTokenClient
    analyser: FaceAnalyser
    cipher: FieldCipher
    face_cache: config.FaceCache = field(default_factory=config.FaceCache)
    memo: AnalysisMemo = field(default_factory=AnalysisMemo)

    @classmethod
    def from_settings(cls, settings: Settings, *, analyser: FaceAnalyser | None = None):
        face_cache = config.face_cache(settings)
        return cls(
            settings=settings,
            rules=config.check_rules(settings),
            registry=IdentityRegistryClient(
                settings.identity_registry_url,
                timeout=(
                    settings.get_float("REGISTRY_CONNECT_TIMEOUT", 2.0),
                    settings.get_float("REGISTRY_READ_TIMEOUT", 5.0),
                ),
                retries=settings.get_int("REGISTRY_RETRIES", 2),
            ),
            tokens=ServiceTokenClient(
                settings.registration_url, settings.service, settings.internal_secret()
            ),
            analyser=analyser
            or FaceAnalyser(
                settings.get_int("FACE_PROCESSES", 2),
                encoder=settings.get("FACE_ENCODER", DEFAULT_ENCODER),
            ),
            cipher=FieldCipher(settings.pii_key()),
            face_cache=face_cache,
            memo=AnalysisMemo(retention=face_cache.retention),
        )

    def close(self) -> None:
        self.analyser.close()


_lock = threading.Lock()
_current: Dependencies | None = None


def install(dependencies: Dependencies | None) -> None:
    """Makes `dependencies` the process's own (None: build them from settings on next use)."""
    global _current
    with _lock:
        _current = dependencies


def current() -> Dependencies:
    global _current
    with _lock:
        if _current is None:
            _current = Dependencies.from_settings(config.load())
        return _current
