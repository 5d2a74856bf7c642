"""What the verification worker's handlers and the review API reach beyond their database:
the identity registry, the claim-check files, the face analyser, the personal-data cipher and
the check rules. Built once per process from its settings; tests install their own."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from services.verification import config
from services.verification.domain.rules import CheckRules
from services.verification.imaging import DEFAULT_ENCODER, FaceAnalyser
from shared.auth.service_tokens import ServiceTokenClient
from shared.config import Settings
from shared.identity_registry import IdentityRegistryClient
from shared.pii import FieldCipher

ID_NUMBER_COLUMN = "verification_cases.id_number"


class AnalysisMemo:
    """The most recent face analyses by image digest, in this process: a message retried with
    its batch neighbours does not pay for their faces twice."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: dict) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass
class Dependencies:
    settings: Settings
    rules: CheckRules
    registry: IdentityRegistryClient
    tokens: ServiceTokenClient
    analyser: FaceAnalyser
    cipher: FieldCipher
    memo: AnalysisMemo = field(default_factory=AnalysisMemo)

    @classmethod
    def from_settings(cls, settings: Settings, *, analyser: FaceAnalyser | None = None):
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
