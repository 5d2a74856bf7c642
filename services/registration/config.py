"""Settings of the registration service: the shared ones plus its own, each read as
`REGISTRATION_<NAME>` first, then `<NAME>` (shared.config.Settings.get)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argon2.profiles import RFC_9106_LOW_MEMORY

from shared.config import Settings, load_settings

SERVICE = "registration"


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)


@dataclass(frozen=True)
class RegistrationOptions:
    access_token_ttl_seconds: int
    service_token_ttl_seconds: int
    jwt_keys_dir: Path
    keep_previous_keys: int
    login_failure_limit: int
    login_failure_window_seconds: int
    # argon2id cost; the defaults are RFC 9106's "low memory" profile (64 MiB, t=3, p=4).
    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int
    # The bound on argon2 work per process (domain.hash_slots).
    hash_concurrency: int
    hash_wait_seconds: float
    hash_max_waiting: int
    # Texted one-time codes (use_cases.phone_codes).
    code_ttl_seconds: int
    code_max_attempts: int
    code_resend_seconds: int
    # Code requests, account creations and log-ins per client address and hour; 0 = no limit.
    address_limit_per_hour: int
    # Reverse proxies in front that add X-Forwarded-For (0: the header is ignored).
    trusted_proxy_hops: int


def options(settings: Settings) -> RegistrationOptions:
    default_keys_dir = settings.keys_dir / "registration-jwt"
    hash_concurrency = settings.get_int("HASH_CONCURRENCY", 2)
    return RegistrationOptions(
        access_token_ttl_seconds=settings.get_int("ACCESS_TOKEN_TTL_SECONDS", 900),
        service_token_ttl_seconds=settings.get_int("SERVICE_TOKEN_TTL_SECONDS", 300),
        # A mounted secret can stand in for the generated key ring.
        jwt_keys_dir=Path(settings.get("JWT_KEYS_DIR", str(default_keys_dir))),
        keep_previous_keys=settings.get_int("JWT_KEEP_PREVIOUS_KEYS", 2),
        login_failure_limit=settings.get_int("LOGIN_FAILURE_LIMIT", 5),
        login_failure_window_seconds=settings.get_int("LOGIN_FAILURE_WINDOW_SECONDS", 900),
        argon2_time_cost=settings.get_int("ARGON2_TIME_COST", RFC_9106_LOW_MEMORY.time_cost),
        argon2_memory_kib=settings.get_int("ARGON2_MEMORY_KIB", RFC_9106_LOW_MEMORY.memory_cost),
        argon2_parallelism=settings.get_int("ARGON2_PARALLELISM", RFC_9106_LOW_MEMORY.parallelism),
        hash_concurrency=max(1, hash_concurrency),
        hash_wait_seconds=settings.get_float("HASH_WAIT_SECONDS", 2.0),
        hash_max_waiting=settings.get_int("HASH_MAX_WAITING", 2 * hash_concurrency),
        code_ttl_seconds=settings.get_int("CODE_TTL_SECONDS", 300),
        code_max_attempts=settings.get_int("CODE_MAX_ATTEMPTS", 5),
        code_resend_seconds=settings.get_int("CODE_RESEND_SECONDS", 60),
        address_limit_per_hour=settings.get_int("ADDRESS_LIMIT_PER_HOUR", 20),
        trusted_proxy_hops=settings.get_int("TRUSTED_PROXY_HOPS", 0),
    )
