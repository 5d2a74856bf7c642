"""What sscardctl does, apart from argument parsing: every read goes through a service's API or
the broker, never another service's database."""

from __future__ import annotations

import requests

from shared.auth.service_tokens import ServiceTokenClient
from shared.config import SERVICES, load_settings
from shared.errors import TransientError
from shared.messaging.connection import CONNECTION_ERRORS
from shared.messaging.dlq import DeadLetter, list_dead_letters, replay

TOOL = "sscardctl"


class Unreachable(Exception):
    pass


def _settings():
    return load_settings(TOOL)


def _where() -> str:
    """The broker address without its password."""
    import urllib.parse

    parts = urllib.parse.urlsplit(_settings().amqp_url)
    return f"{parts.hostname}:{parts.port or 5672}{parts.path or '/'}"


def dead_letters(service: str | None) -> list[DeadLetter]:
    try:
        return list_dead_letters(_settings(), service)
    except CONNECTION_ERRORS as exc:
        raise Unreachable(f"cannot reach the broker at {_where()}: {exc!r}") from exc


def replay_dead_letters(message_id: str | None, service: str | None) -> list[DeadLetter]:
    try:
        return replay(_settings(), message_id, service=service)
    except CONNECTION_ERRORS as exc:
        raise Unreachable(f"cannot reach the broker at {_where()}: {exc!r}") from exc


def trace(application_id: str) -> tuple[list[dict], list[str]]:
    """Every service's entries for one application, merged in time order, and the services
    that could not be asked."""
    settings = _settings()
    try:
        secret = settings.internal_secret()
    except RuntimeError as exc:  # no SSCARDCTL_SERVICE_SECRET outside the demo profile
        raise Unreachable(f"{exc}; on a laptop under `make run`, SSCARD_PROFILE=demo") from exc
    try:
        tokens = ServiceTokenClient(settings.registration_url, TOOL, secret)
        headers = tokens.headers()
    except TransientError as exc:
        raise Unreachable(f"cannot obtain a token from the registration service: {exc}") from exc
    entries: list[dict] = []
    unreachable: list[str] = []
    for service in SERVICES:
        url = f"{settings.url_of(service)}/internal/v1/trace/{application_id}"
        try:
            response = requests.get(url, headers=headers, timeout=5)
            response.raise_for_status()
        except requests.RequestException:
            unreachable.append(service)
            continue
        entries.extend({**entry, "service": service} for entry in response.json()["entries"])
    entries.sort(key=lambda entry: (entry["at"], entry["kind"] != "published"))
    return entries, unreachable


def summarise(entry: dict) -> str:
    data = entry.get("data") or {}
    for key in ("reasons", "card_serial", "reason", "status", "acceptance_number", "outlet_id"):
        if data.get(key):
            return f"{key}={data[key]}"
    return entry["event_id"]
