"""`sscardctl broker …` and `sscardctl banks …`: the broker's users and what each may do
(`shared.messaging.permissions`), made on the broker as its administrator (`AMQP_URL`, and
`RABBITMQ_MANAGEMENT_URL` when the management API is the way in; `rabbitmqctl` otherwise).

- `broker setup` declares the whole topology and gives every service its own user. A
  service's password is the one in its `<SERVICE>_AMQP_URL` when that is set (compose, a real
  deployment); otherwise one is generated once and kept under `var/broker/` (a laptop), and
  `--env-file` writes the `<SERVICE>_AMQP_URL` lines the processes then read.
- `broker demo-banks` does the same for the demo partner banks (`deploy/seed/banks.json`),
  for the partner bank simulator (`PARTNER_BANK_AMQP_URL_<CODE>`).
- `banks onboard CODE` makes a real bank's user with a new password and prints it once;
  `banks offboard CODE` removes the user and closes its connections.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

import pika

from shared.config import SERVICES, Settings, env_name, load_settings
from shared.messaging.broker_admin import (
    BrokerAdmin,
    apply_grant,
    apply_grants,
    broker_admin,
    credentials_of,
    vhost_of,
    with_credentials,
)
from shared.messaging.connection import connection_parameters
from shared.messaging.permissions import (
    Grant,
    bank_grant,
    bank_user,
    check_bank_code,
    service_grant,
)
from shared.messaging.topology import declare_full_topology

TOOL = "sscardctl"
PREFIX_VARIABLE = "SSCARD_BROKER_USER_PREFIX"
BANK_URL_PREFIX = "PARTNER_BANK_AMQP_URL_"
SEED_BANKS = Path(__file__).resolve().parent.parent / "deploy" / "seed" / "banks.json"


@dataclass(frozen=True)
class Credential:
    name: str  # the environment variable that carries it
    user: str
    amqp_url: str


def _settings(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(TOOL, environ)


def _prefix(settings: Settings) -> str:
    return settings.environ.get(PREFIX_VARIABLE, "")


def new_password() -> str:
    return secrets.token_urlsafe(24)


def _stored_password(settings: Settings, user: str) -> str:
    """A demo password kept under var/broker/ (0600), made on first use."""
    path = settings.var_dir / "broker" / f"{user}.password"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip()
    password = new_password()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password)
    return password


def _credentials(
    settings: Settings, admin: BrokerAdmin, wanted: list[tuple[str, Grant]]
) -> list[Credential]:
    """Applies each `(variable, grant)` with the user and password of `variable`'s URL when
    it is set, else with a stored demo password; returns the URLs the processes are to use."""
    credentials, grants = [], []
    for variable, grant in wanted:
        given = settings.environ.get(variable)
        if given:
            user, password = credentials_of(given)
            grant = replace(grant, user=user)
            url = given
        else:
            password = _stored_password(settings, grant.user)
            url = with_credentials(settings.amqp_url, grant.user, password)
        grants.append((grant, password))
        credentials.append(Credential(variable, grant.user, url))
    apply_grants(admin, vhost_of(settings.amqp_url), grants)
    return credentials


def declare_topology_as_admin(settings: Settings) -> None:
    connection = pika.BlockingConnection(connection_parameters(settings, "broker-setup"))
    try:
        declare_full_topology(connection.channel(), settings)
    finally:
        if connection.is_open:
            connection.close()


def setup(environ: dict[str, str] | None = None) -> list[Credential]:
    """Idempotent: the topology, and one user per service with exactly its grant."""
    settings = _settings(environ)
    declare_topology_as_admin(settings)
    admin = broker_admin(settings.amqp_url, settings.environ)
    wanted = [
        (env_name(service, "AMQP_URL"), service_grant(service, _prefix(settings)))
        for service in SERVICES
    ]
    return _credentials(settings, admin, wanted)


def seed_bank_codes() -> list[str]:
    return [bank["bank_code"] for bank in json.loads(SEED_BANKS.read_text())["banks"]]


def demo_banks(environ: dict[str, str] | None = None) -> list[Credential]:
    """A user for every demo bank, for the partner bank simulator."""
    settings = _settings(environ)
    admin = broker_admin(settings.amqp_url, settings.environ)
    wanted = [
        (BANK_URL_PREFIX + code, bank_grant(code, _prefix(settings))) for code in seed_bank_codes()
    ]
    return _credentials(settings, admin, wanted)


def write_env_file(path: Path, credentials: list[Credential]) -> None:
    """`NAME='url'` lines (shell- and honcho-readable), 0600: they hold passwords."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = read_env_file(path) if path.exists() else {}
    existing.update({credential.name: credential.amqp_url for credential in credentials})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Written by `sscardctl broker setup`: each process's own broker user.\n")
        for name, url in sorted(existing.items()):
            handle.write(f"{name}={shlex.quote(url)}\n")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            [assignment] = shlex.split(line)
            name, _, value = assignment.partition("=")
            values[name] = value
    return values


def onboard_bank(code: str, environ: dict[str, str] | None = None) -> tuple[Credential, str]:
    """A new user for the bank with a new password; (its credential, the password). Run again
    for a bank that has a user, it replaces the password (and closes its connections)."""
    settings = _settings(environ)
    check_bank_code(code)
    admin = broker_admin(settings.amqp_url, settings.environ)
    grant = bank_grant(code, _prefix(settings))
    password = new_password()
    if admin.user_exists(grant.user):
        admin.close_connections_of(grant.user)
    apply_grant(admin, vhost_of(settings.amqp_url), grant, password)
    url = with_credentials(settings.amqp_url, grant.user, password)
    return Credential(BANK_URL_PREFIX + code, grant.user, url), password


def offboard_bank(code: str, environ: dict[str, str] | None = None) -> bool:
    """Removes the bank's user and closes its open connections; False when there was none."""
    settings = _settings(environ)
    admin = broker_admin(settings.amqp_url, settings.environ)
    user = bank_user(code, _prefix(settings))
    admin.close_connections_of(user)
    existed = admin.delete_user(user)
    admin.close_connections_of(user)  # one that opened in between
    return existed
