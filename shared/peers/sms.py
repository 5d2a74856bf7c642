"""Adapters to the SMS gateway (texts such as one-time codes) and to the carriers' real-name
check of a phone (运营商三要素: is this phone registered to this name + ID number?).

Both speak one small HTTP shape, which the SMS gateway simulator (simulators/sms_gateway, port
8012) serves and a production provider, or a thin proxy in front of it, serves too:

    POST <SMS_GATEWAY_URL>/sms/v1/messages   {phone, text}            → 2xx {id}
    POST <CARRIER_VERIFY_URL>/carrier/v1/verify {phone, name, id_number} → 200 {match: bool}

with `Authorization: Bearer <token>` when a token is configured. Where the provider lives is
configuration only (docs/simulators.md):

    SMS_GATEWAY_URL        default http://127.0.0.1:8012 (the simulator)
    SMS_GATEWAY_TOKEN      optional bearer token for the gateway
    CARRIER_VERIFY_URL     default: SMS_GATEWAY_URL
    CARRIER_VERIFY_TOKEN   default: SMS_GATEWAY_TOKEN, but only when CARRIER_VERIFY_URL is unset
                           (a token is never sent to a host it was not configured for)
    SMS_GATEWAY_TIMEOUT_SECONDS, CARRIER_VERIFY_TIMEOUT_SECONDS   read timeouts, default 3

Every failure — refused connection, timeout, an answer other than the expected one — raises a
`TransientError` subclass, which a web handler turns into 503 with Retry-After. The carrier
check answers True only for an explicit `{"match": true}`; nothing else ever counts as a match.
Error messages name the failure, never the phone, name or ID number.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.config import service_url
from shared.errors import TransientError

CONNECT_TIMEOUT_SECONDS = 1.0
DEFAULT_READ_TIMEOUT_SECONDS = 3.0


class SmsUnavailable(TransientError):
    """The text could not be handed to the gateway; it may work later."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"SMS gateway: {reason}")
        self.status = status


class CarrierCheckUnavailable(TransientError):
    """The carriers' real-name check gave no answer; nothing is known about the phone."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"carrier real-name check: {reason}")
        self.status = status


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> str | None:
        """Hands one text to the gateway; the gateway's id for it, when it gives one.
        Raises `SmsUnavailable` when the gateway did not take it."""


def _session() -> requests.Session:
    # One retry, for a refused or failed connection only: then nothing reached the gateway,
    # so nothing can be sent twice. A timeout after the request went out is not retried.
    retry = Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0, backoff_factor=0)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value not in (None, "") else None


class _GatewayClient:
    """What both gateway clients share: one endpoint under a base URL, an optional bearer
    token, (connect, read) timeouts and a session that retries only a failed connection."""

    PATH = ""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT_SECONDS, DEFAULT_READ_TIMEOUT_SECONDS),
    ) -> None:
        self.url = base_url.rstrip("/") + self.PATH
        self._token = token or None
        self.timeout = timeout
        self._session = _session()


def _timeout(environ: Mapping[str, str], name: str) -> tuple[float, float]:
    return (CONNECT_TIMEOUT_SECONDS, float(_env(environ, name) or DEFAULT_READ_TIMEOUT_SECONDS))


class HttpSmsSender(_GatewayClient):
    """The SMS gateway over HTTP: the simulator in development and demos, a real provider in
    production (its URL, and its token as a bearer token)."""

    PATH = "/sms/v1/messages"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HttpSmsSender:
        environ = os.environ if environ is None else environ
        return cls(
            service_url("sms_gateway", dict(environ)),
            token=_env(environ, "SMS_GATEWAY_TOKEN"),
            timeout=_timeout(environ, "SMS_GATEWAY_TIMEOUT_SECONDS"),
        )

    def send(self, phone: str, text: str) -> str | None:
        try:
            response = self._session.post(
                self.url,
                json={"phone": phone, "text": text},
                headers=_headers(self._token),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise SmsUnavailable(f"unreachable ({type(exc).__name__})") from exc
        if not 200 <= response.status_code < 300:
            raise SmsUnavailable(f"answered {response.status_code}", status=response.status_code)
        try:
            body = response.json()
        except ValueError:
            return None
        message_id = body.get("id") if isinstance(body, dict) else None
        return str(message_id) if message_id is not None else None


@dataclass(frozen=True)
class SentText:
    phone: str
    text: str


class MemorySmsSender:
    """Keeps the texts in memory instead of sending them: for the unit tests of code that
    sends texts (read `.sent` back). Never configured by the environment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[SentText] = []

    def send(self, phone: str, text: str) -> str | None:
        with self._lock:
            self.sent.append(SentText(phone, text))
            return str(len(self.sent))

    def texts_to(self, phone: str) -> list[str]:
        """The texts sent to this phone, newest first (as the simulator lists them)."""
        with self._lock:
            return [sent.text for sent in reversed(self.sent) if sent.phone == phone]


def carrier_verify_url(environ: Mapping[str, str] | None = None) -> str:
    """Where the carriers' real-name check is asked: `CARRIER_VERIFY_URL`, else the SMS
    gateway's URL (the simulator serves both)."""
    environ = os.environ if environ is None else environ
    own = _env(environ, "CARRIER_VERIFY_URL")
    return (own or service_url("sms_gateway", dict(environ))).rstrip("/")


class CarrierCheck(_GatewayClient):
    """Is this phone registered with its carrier to this name and ID number?"""

    PATH = "/carrier/v1/verify"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> CarrierCheck:
        environ = os.environ if environ is None else environ
        token = _env(environ, "CARRIER_VERIFY_TOKEN")
        if token is None and _env(environ, "CARRIER_VERIFY_URL") is None:
            token = _env(environ, "SMS_GATEWAY_TOKEN")
        return cls(
            carrier_verify_url(environ),
            token=token,
            timeout=_timeout(environ, "CARRIER_VERIFY_TIMEOUT_SECONDS"),
        )

    def verify(self, phone: str, name: str, id_number: str) -> bool:
        """True only when the carrier says this phone is registered to exactly this person;
        False when it says it is not (or that it knows no owner). Raises
        `CarrierCheckUnavailable` when there is no such answer."""
        try:
            response = self._session.post(
                self.url,
                json={"phone": phone, "name": name, "id_number": id_number},
                headers=_headers(self._token),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise CarrierCheckUnavailable(f"unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise CarrierCheckUnavailable(
                f"answered {response.status_code}", status=response.status_code
            )
        try:
            match = response.json().get("match")
        except (ValueError, AttributeError):
            raise CarrierCheckUnavailable("answered something that is not {match}") from None
        if not isinstance(match, bool):
            raise CarrierCheckUnavailable("answered something that is not {match}")
        return match
