"""Channel providers: how a notification leaves sscard on each channel, behind one interface.

- `RecordingProvider` (the default, and what `make run` uses) sends nothing: it appends what
  would have been sent to `var/data/notification/recorded/<channel>.jsonl` and logs it, with
  the address masked.
- `HttpGatewayProvider` posts to an SMS / e-mail / WeChat / Alipay gateway at a configured
  URL, with timeouts and a few quick retries with backoff; the notification id travels as the
  `Idempotency-Key`, so a gateway can drop the duplicate a retry after a lost answer makes.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from services.notification.config import NotificationConfig
from services.notification.domain.channels import CHANNELS, mask_address
from shared.config import Settings
from shared.time import format_time, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: str
    channel: str
    address: str
    body: str
    event_type: str


class DeliveryFailed(Exception):
    """The provider could not hand the message over. `permanent`: trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ChannelProvider(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> None:
        """Returns once the message is handed over; raises DeliveryFailed otherwise."""


class RecordingProvider:
    name = "recording"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        record = {
            "at": format_time(utcnow()),
            "notification_id": message.notification_id,
            "channel": message.channel,
            "to": mask_address(message.channel, message.address),
            "event_type": message.event_type,
            "body": message.body,
        }
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with (self.directory / f"{message.channel}.jsonl").open("a", encoding="utf-8") as f:
                f.write(line + "\n")
        log.info(
            "recorded %s notification %s to %s",
            message.channel,
            message.notification_id,
            record["to"],
        )

    def recorded(self, channel: str) -> list[dict]:
        path = self.directory / f"{channel}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class HttpGatewayProvider:
    name = "http"

    def __init__(self, channel: str, url: str, *, timeout: float, retries: int) -> None:
        self.channel = channel
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            retry = Retry(
                total=self.retries,
                backoff_factor=0.5,
                status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=None,  # POST too: the Idempotency-Key makes it safe
                raise_on_status=False,
                respect_retry_after_header=True,
            )
            session = requests.Session()
            session.mount("http://", HTTPAdapter(max_retries=retry))
            session.mount("https://", HTTPAdapter(max_retries=retry))
            self._local.session = session
        return session

    def send(self, message: OutgoingMessage) -> None:
        try:
            response = self._session().post(
                self.url,
                json={
                    "notification_id": message.notification_id,
                    "channel": message.channel,
                    "to": message.address,
                    "event_type": message.event_type,
                    "body": message.body,
                },
                headers={"Idempotency-Key": message.notification_id},
                timeout=(min(self.timeout, 3.0), self.timeout),
            )
        except requests.RequestException as exc:
            raise DeliveryFailed(
                f"{self.channel} gateway unreachable: {type(exc).__name__}"
            ) from exc
        if 200 <= response.status_code < 300:
            return
        permanent = 400 <= response.status_code < 500 and response.status_code != 429
        raise DeliveryFailed(
            f"{self.channel} gateway answered {response.status_code}", permanent=permanent
        )


def build_providers(settings: Settings, config: NotificationConfig) -> dict[str, ChannelProvider]:
    recording = RecordingProvider(settings.data_dir / "recorded")
    providers: dict[str, ChannelProvider] = {}
    for channel in CHANNELS:
        kind = config.providers[channel]
        if kind == "recording":
            providers[channel] = recording
        elif kind == "http":
            url = config.gateway_urls[channel]
            if not url:
                raise ValueError(
                    f"{channel.upper()}_PROVIDER=http needs {channel.upper()}_GATEWAY_URL"
                )
            providers[channel] = HttpGatewayProvider(
                channel, url, timeout=config.gateway_timeout, retries=config.gateway_retries
            )
        else:
            raise ValueError(f"unknown provider {kind!r} for {channel}; use recording or http")
    return providers
