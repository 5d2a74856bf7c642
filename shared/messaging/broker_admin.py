"""Creating and removing broker users with exactly their grants (`shared.messaging.permissions`).

Two ways to reach the broker as its administrator, with the same effect:
- the management HTTP API (`RABBITMQ_MANAGEMENT_URL`, e.g. `http://rabbitmq:15672` in compose),
  with the administrator's user and password taken from `AMQP_URL`;
- `rabbitmqctl` on the broker's own machine (a laptop, CI), when no management URL is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import requests

from shared.messaging.permissions import Grant


class BrokerAdminError(Exception):
    """The broker refused or could not be reached; the message says which and why."""


class BrokerAdmin(Protocol):
    def import_definitions(self, definitions: dict) -> None: ...
    def put_user(self, user: str, password: str, tags: str = "") -> None: ...
    def delete_user(self, user: str) -> bool: ...
    def user_exists(self, user: str) -> bool: ...
    def set_permissions(self, vhost: str, grant: Grant) -> None: ...
    def close_connections_of(self, user: str) -> int: ...


def vhost_of(amqp_url: str) -> str:
    path = urllib.parse.urlsplit(amqp_url).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else "/"


def credentials_of(amqp_url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(amqp_url)
    return (
        urllib.parse.unquote(parts.username or "guest"),
        urllib.parse.unquote(parts.password or "guest"),
    )


def with_credentials(amqp_url: str, user: str, password: str) -> str:
    """The same broker and vhost, as another user."""
    parts = urllib.parse.urlsplit(amqp_url)
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    netloc = (
        f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}@{host}"
        + (f":{parts.port}" if parts.port else "")
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass
class RabbitmqctlAdmin:
    command: str = ""

    def _run(self, *args: str, stdin: str | None = None) -> str:
        command = self.command or shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        try:
            result = subprocess.run(  # noqa: S603 — fixed program, arguments as a list
                [command, "-q", *args], capture_output=True, text=True, timeout=60, input=stdin
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BrokerAdminError(f"cannot run rabbitmqctl: {exc}") from exc
        if result.returncode != 0:
            raise BrokerAdminError(
                f"rabbitmqctl {args[0]} failed: {(result.stderr or result.stdout).strip()}"
            )
        return result.stdout

    def import_definitions(self, definitions: dict) -> None:
        # On standard input: no file the broker's own user would have to be able to read.
        self._run("import_definitions", stdin=json.dumps(definitions))

    def user_exists(self, user: str) -> bool:
        listing = self._run("list_users", "--no-table-headers")
        return any(line.split("\t", 1)[0] == user for line in listing.splitlines())

    def put_user(self, user: str, password: str, tags: str = "") -> None:
        if self.user_exists(user):
            self._run("change_password", user, password)
        else:
            self._run("add_user", user, password)
        self._run("set_user_tags", user, *tags.split())

    def delete_user(self, user: str) -> bool:
        if not self.user_exists(user):
            return False
        self._run("delete_user", user)
        return True

    def set_permissions(self, vhost: str, grant: Grant) -> None:
        self._run(
            "set_permissions", "-p", vhost, grant.user, grant.configure, grant.write, grant.read
        )
        for topic in grant.topics:
            self._run(
                "set_topic_permissions",
                "-p",
                vhost,
                grant.user,
                topic.exchange,
                topic.write,
                topic.read,
            )

    def close_connections_of(self, user: str) -> int:
        listing = self._run("list_connections", "--no-table-headers", "pid", "user")
        closed = 0
        for line in listing.splitlines():
            pid, _, owner = line.partition("\t")
            if owner.strip() == user:
                try:
                    self._run("close_connection", pid.strip(), "broker user removed")
                    closed += 1
                except BrokerAdminError:
                    pass  # gone meanwhile
        return closed


@dataclass
class ManagementApiAdmin:
    base_url: str
    user: str
    password: str
    timeout: float = 10.0

    def _request(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        url = f"{self.base_url.rstrip('/')}/api/{path}"
        try:
            response = requests.request(
                method,
                url,
                auth=(self.user, self.password),
                data=json.dumps(body) if body is not None else None,
                headers={"content-type": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise BrokerAdminError(f"cannot reach the management API at {url}: {exc}") from exc
        if response.status_code >= 400 and response.status_code != 404:
            raise BrokerAdminError(
                f"management API {method} {path}: {response.status_code} {response.text[:300]}"
            )
        return response

    @staticmethod
    def _q(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def import_definitions(self, definitions: dict) -> None:
        self._request("POST", "definitions", definitions)

    def user_exists(self, user: str) -> bool:
        return self._request("GET", f"users/{self._q(user)}").status_code == 200

    def put_user(self, user: str, password: str, tags: str = "") -> None:
        self._request(
            "PUT", f"users/{self._q(user)}", {"password": password, "tags": ",".join(tags.split())}
        )

    def delete_user(self, user: str) -> bool:
        return self._request("DELETE", f"users/{self._q(user)}").status_code < 400

    def set_permissions(self, vhost: str, grant: Grant) -> None:
        where = f"{self._q(vhost)}/{self._q(grant.user)}"
        self._request(
            "PUT",
            f"permissions/{where}",
            {"configure": grant.configure, "write": grant.write, "read": grant.read},
        )
        for topic in grant.topics:
            self._request(
                "PUT",
                f"topic-permissions/{where}",
                {"exchange": topic.exchange, "write": topic.write, "read": topic.read},
            )

    def close_connections_of(self, user: str) -> int:
        response = self._request("GET", f"connections/username/{self._q(user)}")
        if response.status_code == 404:
            return 0
        count = len(response.json())
        self._request("DELETE", f"connections/username/{self._q(user)}")
        return count


def broker_admin(amqp_url: str, environ: Mapping[str, str] | None = None) -> BrokerAdmin:
    """The management API when `RABBITMQ_MANAGEMENT_URL` is set, else `rabbitmqctl`."""
    management_url = (os.environ if environ is None else environ).get("RABBITMQ_MANAGEMENT_URL")
    if management_url:
        user, password = credentials_of(amqp_url)
        return ManagementApiAdmin(management_url, user, password)
    return RabbitmqctlAdmin()


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt ‖ SHA-256(salt ‖ password))."""
    salt = secrets.token_bytes(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def definitions(vhost: str, grants: list[tuple[Grant, str]]) -> dict:
    """Users with their passwords (hashed) and grants, as RabbitMQ definitions: what the
    management API's `POST /api/definitions` and `rabbitmqctl import_definitions` take."""
    return {
        "users": [
            {
                "name": grant.user,
                "password_hash": password_hash(password),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": grant.tags,
            }
            for grant, password in grants
        ],
        "permissions": [
            {
                "user": grant.user,
                "vhost": vhost,
                "configure": grant.configure,
                "write": grant.write,
                "read": grant.read,
            }
            for grant, _password in grants
        ],
        "topic_permissions": [
            {
                "user": grant.user,
                "vhost": vhost,
                "exchange": topic.exchange,
                "write": topic.write,
                "read": topic.read,
            }
            for grant, _password in grants
            for topic in grant.topics
        ],
    }


def apply_grants(admin: BrokerAdmin, vhost: str, grants: list[tuple[Grant, str]]) -> None:
    """Creates each user (or resets its password) and gives it exactly its grant in `vhost`,
    all in one import."""
    if grants:
        admin.import_definitions(definitions(vhost, grants))


def apply_grant(admin: BrokerAdmin, vhost: str, grant: Grant, password: str) -> None:
    apply_grants(admin, vhost, [(grant, password)])
