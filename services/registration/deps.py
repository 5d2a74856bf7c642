"""The registration service's dependencies: its settings, its database, its options and what it
reaches beyond them (the signing key ring, the token issuer, the password hasher, the login
throttle, the field cipher, the SMS gateway, the carriers' real-name check, the identity
registry) and a clock, settable in tests so throttling windows pass without sleeping. Built
once per process; the one way anything reaches them. Where the SMS gateway, the carrier check
and the registry live is configuration (docs/simulators.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import cast

from services.registration import config, models
from services.registration.adapters.identity_registry import identity_registry
from services.registration.adapters.signing_keys import TokenIssuer, signing_keys
from services.registration.domain.hash_slots import BoundedPasswords, HashSlots
from services.registration.domain.limits import AddressLimit
from services.registration.domain.passwords import Passwords
from services.registration.domain.phone_codes import CodeRules, code_key
from services.registration.domain.throttle import LoginThrottle
from shared.auth.keys import KeyRing
from shared.config import Settings
from shared.db.uow import Database
from shared.peers.identity_registry import IdentityRegistryClient
from shared.peers.sms import CarrierCheck, HttpSmsSender, SmsSender
from shared.personal_data.protection import FieldCipher
from shared.time import utcnow
from shared.web.app import current_deps


@dataclass
class Dependencies:
    settings: Settings
    database: Database
    clock: Callable[[], datetime] = field(default=utcnow)

    @cached_property
    def options(self) -> config.RegistrationOptions:
        return config.options(self.settings)

    @cached_property
    def keys(self) -> KeyRing:
        return signing_keys(self.settings)

    @cached_property
    def tokens(self) -> TokenIssuer:
        return TokenIssuer(
            self.keys,
            access_ttl_seconds=self.options.access_token_ttl_seconds,
            service_ttl_seconds=self.options.service_token_ttl_seconds,
        )

    @cached_property
    def hash_slots(self) -> HashSlots:
        return HashSlots(
            self.options.hash_concurrency,
            max_wait=self.options.hash_wait_seconds,
            max_waiting=self.options.hash_max_waiting,
        )

    @cached_property
    def passwords(self) -> BoundedPasswords:
        hasher = Passwords(
            time_cost=self.options.argon2_time_cost,
            memory_kib=self.options.argon2_memory_kib,
            parallelism=self.options.argon2_parallelism,
        )
        return BoundedPasswords(hasher, self.hash_slots)

    @cached_property
    def throttle(self) -> LoginThrottle:
        return LoginThrottle(
            limit=self.options.login_failure_limit,
            window=timedelta(seconds=self.options.login_failure_window_seconds),
        )

    @cached_property
    def cipher(self) -> FieldCipher:
        return FieldCipher(self.settings.pii_key())

    @cached_property
    def code_key(self) -> bytes:
        """Keys the HMACs of texted codes and of client addresses."""
        return code_key(self.settings.pii_key())

    @cached_property
    def code_rules(self) -> CodeRules:
        return CodeRules(
            ttl=timedelta(seconds=self.options.code_ttl_seconds),
            max_attempts=self.options.code_max_attempts,
            resend_interval=timedelta(seconds=self.options.code_resend_seconds),
        )

    @cached_property
    def address_limit(self) -> AddressLimit:
        return AddressLimit(limit=self.options.address_limit_per_hour)

    @cached_property
    def sms(self) -> SmsSender:
        return HttpSmsSender.from_environment(self.settings.environ)

    @cached_property
    def carrier(self) -> CarrierCheck:
        return CarrierCheck.from_environment(self.settings.environ)

    @cached_property
    def registry(self) -> IdentityRegistryClient:
        return identity_registry(self.settings)


def build(settings: Settings, *, pool_size: int = 5) -> Dependencies:
    return Dependencies(
        settings=settings,
        database=Database(settings.database_url, models.metadata, pool_size=pool_size),
    )


def current() -> Dependencies:
    """The dependencies of the app serving this request."""
    return cast(Dependencies, current_deps())
