"""Settings read from environment variables, with the defaults of docs/contract.md §1.

Every process of a service (web, worker, relay) builds the same `Settings` from the same
variables, so they can never disagree about where the database or the broker is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

SERVICES = ("registration", "application", "verification", "printing", "notification")

DEFAULT_PORTS = {
    "registration": 8001,
    "application": 8002,
    "verification": 8003,
    "printing": 8004,
    "notification": 8005,
    "identity_registry": 8010,
    "partner_bank": 8011,
    "sms_gateway": 8012,
}

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672/%2F"

# How a process knows it runs a demo or a developer's laptop (`make run`, the test suite, compose
# with SSCARD_PROFILE=demo) rather than a deployment: SSCARD_PROFILE=demo. Anything else, or
# nothing, is production, where weak secrets refuse to start (shared.runtime.secrets).
PROFILE_VARIABLE = "SSCARD_PROFILE"
DEMO_PROFILE = "demo"
# The one secret every caller shared before each had its own; honoured in the demo profile only.
SHARED_SERVICE_SECRET = "SSCARD_SERVICE_SECRET"  # noqa: S105 — a variable's name


def service_secret_variable(client: str) -> str:
    """`application` → `APPLICATION_SERVICE_SECRET`: the credential a caller presents for a
    service token (sscardctl's is SSCARDCTL_SERVICE_SECRET)."""
    return env_name(client, "SERVICE_SECRET")


def service_secret_hash_variable(client: str) -> str:
    """`application` → `APPLICATION_SERVICE_SECRET_SHA256`: what the registration service holds
    to check that caller's secret without holding the secret itself."""
    return env_name(client, "SERVICE_SECRET_SHA256")


@dataclass(frozen=True)
class ServiceCredential:
    """What the registration service checks a caller's secret against: its SHA-256 (hex)."""

    sha256: str = field(repr=False)

    @classmethod
    def of_secret(cls, secret: str) -> ServiceCredential:
        return cls(hashlib.sha256(secret.encode()).hexdigest())

    def matches(self, given: str) -> bool:
        digest = hashlib.sha256(given.encode()).hexdigest()
        return hmac.compare_digest(digest, self.sha256.strip().lower())


def env_name(service: str, suffix: str) -> str:
    """`("identity_registry", "PORT")` → `IDENTITY_REGISTRY_PORT`."""
    return f"{service.upper()}_{suffix}"


def _env(name: str, default: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    return value if value not in (None, "") else default


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.replace(" ", "").split(",") if part)


def service_url(service: str, environ: Mapping[str, str] | None = None) -> str:
    """Base URL of a peer process, e.g. `APPLICATION_URL`, defaulting to its local port."""
    environ = os.environ if environ is None else environ
    default = f"http://127.0.0.1:{DEFAULT_PORTS[service]}"
    return _env(env_name(service, "URL"), default, environ).rstrip("/")


def normalise_database_url(url: str) -> str:
    """Point plain `postgresql://` URLs at psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def read_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """A random secret kept in a 0600 file, created atomically on first use.

    Several processes of one service may start at once; O_EXCL makes exactly one of them
    write the file and the others read what it wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            data = path.read_bytes()
            if data:
                return base64.b64decode(data)
            time.sleep(0.01)
        raise RuntimeError(f"secret file {path} stays empty") from None
    value = secrets.token_bytes(nbytes)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(value))
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a process of one service needs to know about its surroundings."""

    service: str
    port: int
    database_url: str
    amqp_url: str
    var_dir: Path
    registration_url: str
    identity_registry_url: str
    log_level: str = "INFO"
    log_json: bool = True
    # Messaging
    prefetch: int = 300
    consumer_batch_size: int = 250
    delivery_limit: int = 10
    retry_delays_ms: tuple[int, ...] = (1_000, 5_000, 30_000, 120_000, 600_000)
    relay_batch_size: int = 500
    relay_poll_interval: float = 0.05
    heartbeat: int = 30
    # HTTP
    max_json_bytes: int = 64 * 1024
    max_upload_bytes: int = 6 * 1024 * 1024
    token_leeway_seconds: int = 10
    # Secrets: given in the environment in production, generated under var/ for a laptop.
    pii_key_b64: str | None = field(default=None, repr=False)
    service_secret: str | None = field(default=None, repr=False)
    profile: str = "production"
    environ: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def keys_dir(self) -> Path:
        return self.var_dir / "keys"

    @property
    def data_dir(self) -> Path:
        """This service's own files (uploads and the like); no other service reads them."""
        return self.var_dir / "data" / self.service

    def get(self, name: str, default: str) -> str:
        """A service-specific setting: `<SERVICE>_<NAME>` first, then `<NAME>`."""
        own = self.environ.get(env_name(self.service, name))
        if own not in (None, ""):
            return own
        return _env(name, default, self.environ)

    def get_int(self, name: str, default: int) -> int:
        return int(self.get(name, str(default)))

    def get_float(self, name: str, default: float) -> float:
        return float(self.get(name, str(default)))

    def get_retention_days(self, name: str, default: int) -> timedelta | None:
        """A retention in days; None (kept for ever) for 0, and for a negative number too,
        which would otherwise delete at once what was meant to be kept."""
        days = self.get_int(name, default)
        return timedelta(days=days) if days > 0 else None

    def get_bool(self, name: str, default: bool) -> bool:
        return self.get(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")

    def url_of(self, service: str) -> str:
        return service_url(service, self.environ)

    def pii_key(self) -> bytes:
        """The 256-bit key for personal data at rest."""
        if self.pii_key_b64:
            key = base64.b64decode(self.pii_key_b64)
        else:
            key = read_or_create_secret(self.keys_dir / f"{self.service}-pii.key")
        if len(key) != 32:
            raise ValueError("the PII key must be 32 bytes, base64-encoded")
        return key

    @property
    def is_demo(self) -> bool:
        return self.profile == DEMO_PROFILE

    def service_secret_of(self, client: str) -> str | None:
        """A caller's own secret for service tokens: `<CLIENT>_SERVICE_SECRET`; in the demo
        profile only, failing that, the shared SSCARD_SERVICE_SECRET, and failing that a
        secret generated under the keys directory (one laptop, one var/)."""
        own = self.environ.get(service_secret_variable(client))
        if own:
            return own
        if not self.is_demo:
            return None
        if self.service_secret:
            return self.service_secret
        raw = read_or_create_secret(self.keys_dir / f"{client}-service-secret.key")
        return base64.urlsafe_b64encode(raw).decode()

    def internal_secret(self) -> str:
        """This process's own secret, with which it obtains service tokens naming it."""
        secret = self.service_secret_of(self.service)
        if secret is None:
            variable = service_secret_variable(self.service)
            raise RuntimeError(f"{variable} is not set (each service has its own secret)")
        return secret

    def service_credential(self, client: str) -> ServiceCredential | None:
        """What the registration service checks `client`'s secret against:
        `<CLIENT>_SERVICE_SECRET_SHA256`, else the secret itself where this process knows it
        (one environment for every process, as under `make run`); None: no such caller."""
        digest = self.environ.get(service_secret_hash_variable(client))
        if digest:
            return ServiceCredential(digest)
        secret = self.service_secret_of(client)
        return ServiceCredential.of_secret(secret) if secret else None

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)


def load_settings(service: str, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    var_dir = Path(_env("SSCARD_VAR_DIR", "var", environ)).resolve()
    default_db = f"sqlite:///{var_dir / 'db' / f'{service}.sqlite3'}"
    return Settings(
        service=service,
        port=int(_env(env_name(service, "PORT"), str(DEFAULT_PORTS.get(service, 0)), environ)),
        database_url=normalise_database_url(
            _env(env_name(service, "DATABASE_URL"), default_db, environ)
        ),
        # Each service connects as its own broker user (`sscardctl broker setup`).
        amqp_url=_env(
            env_name(service, "AMQP_URL"), _env("AMQP_URL", DEFAULT_AMQP_URL, environ), environ
        ),
        var_dir=var_dir,
        registration_url=service_url("registration", environ),
        identity_registry_url=_env(
            "IDENTITY_REGISTRY_URL", service_url("identity_registry", environ), environ
        ).rstrip("/"),
        log_level=_env("LOG_LEVEL", "INFO", environ),
        log_json=_env("LOG_FORMAT", "json", environ) == "json",
        prefetch=int(_env("SSCARD_PREFETCH", "300", environ)),
        consumer_batch_size=int(_env(env_name(service, "CONSUMER_BATCH_SIZE"), "250", environ)),
        delivery_limit=int(_env("SSCARD_DELIVERY_LIMIT", "10", environ)),
        retry_delays_ms=_int_list(
            _env("SSCARD_RETRY_DELAYS_MS", "1000,5000,30000,120000,600000", environ)
        ),
        relay_batch_size=int(_env("SSCARD_RELAY_BATCH_SIZE", "500", environ)),
        relay_poll_interval=float(_env("SSCARD_RELAY_POLL_INTERVAL", "0.05", environ)),
        heartbeat=int(_env("SSCARD_AMQP_HEARTBEAT", "30", environ)),
        token_leeway_seconds=int(_env("SSCARD_TOKEN_LEEWAY", "10", environ)),
        pii_key_b64=environ.get(env_name(service, "PII_KEY")) or environ.get("SSCARD_PII_KEY"),
        service_secret=environ.get(SHARED_SERVICE_SECRET),
        profile=_env(PROFILE_VARIABLE, "production", environ).strip().lower(),
        environ=environ,
    )
