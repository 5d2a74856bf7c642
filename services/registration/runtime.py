"""What the registration routes need beyond the shared service context: its options, the
password hasher, the token issuer, the login throttle, the field cipher and a clock (settable
in tests, so throttling windows pass without sleeping)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.registration import config
from services.registration.domain.passwords import Passwords
from services.registration.domain.throttle import LoginThrottle
from services.registration.tokens import TokenIssuer, signing_keys
from shared.config import Settings
from shared.db import utcnow
from shared.keys import KeyRing
from shared.pii import FieldCipher
from shared.web.app import service_context


@dataclass
class Runtime:
    options: config.RegistrationOptions
    keys: KeyRing
    passwords: Passwords
    tokens: TokenIssuer
    throttle: LoginThrottle
    cipher: FieldCipher
    clock: Callable[[], datetime] = field(default=utcnow)


def build_runtime(settings: Settings) -> Runtime:
    options = config.options(settings)
    keys = signing_keys(settings)
    return Runtime(
        options=options,
        keys=keys,
        passwords=Passwords(
            time_cost=options.argon2_time_cost,
            memory_kib=options.argon2_memory_kib,
            parallelism=options.argon2_parallelism,
        ),
        tokens=TokenIssuer(
            keys,
            access_ttl_seconds=options.access_token_ttl_seconds,
            service_ttl_seconds=options.service_token_ttl_seconds,
        ),
        throttle=LoginThrottle(
            limit=options.login_failure_limit,
            window=timedelta(seconds=options.login_failure_window_seconds),
        ),
        cipher=FieldCipher(settings.pii_key()),
    )


def runtime() -> Runtime:
    return service_context().extras["registration"]
