"""Settings of the notification service.

Besides the shared settings (shared.config), each read as `NOTIFICATION_<NAME>` or `<NAME>`:

- `WEBHOOK_ALLOW_PRIVATE`: let webhooks call loopback and private addresses. Default: on for
  the embedded SQLite (laptop, `make run`) deployment, off for any database server.
- `WEBHOOK_CONNECT_TIMEOUT`, `WEBHOOK_READ_TIMEOUT` (3, 10 s): per request to a receiver.
- `WEBHOOK_RETRY_BASE_SECONDS`, `WEBHOOK_RETRY_FACTOR`, `WEBHOOK_RETRY_CAP_SECONDS`
  (10, 3, 14400): backoff base·factor^(n-1), capped, ±25 % jitter.
- `WEBHOOK_RETRY_WINDOW_HOURS` (24): a delivery is given up after this.
- `WEBHOOK_DISABLE_AFTER_HOURS` (24): a subscription failing this long is disabled.
- `DISPATCH_WORKERS` (16): sending threads in the dispatcher.
- `WEBHOOK_MAX_IN_FLIGHT` (4), `CHANNEL_MAX_IN_FLIGHT` (4): concurrent requests to one
  subscription, and on one channel.
- `DISPATCH_BATCH_SIZE`, `DISPATCH_POLL_INTERVAL` (200, 0.2 s): claiming due work.
- `<CHANNEL>_PROVIDER` (`recording`): `recording` or `http`, for sms, email, wechat, alipay;
  `<CHANNEL>_GATEWAY_URL`: where the http provider posts.
- `GATEWAY_TIMEOUT`, `GATEWAY_RETRIES` (5 s, 2): the http provider's own quick retries.
- `NOTIFICATION_MAX_ATTEMPTS` (6): the dispatcher's tries of one notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.notification.domain.channels import CHANNELS
from services.notification.domain.delivery import RetryPolicy
from shared.config import Settings, load_settings

SERVICE = "notification"


def load(environ: dict[str, str] | None = None) -> Settings:
    return load_settings(SERVICE, environ)


@dataclass(frozen=True)
class NotificationConfig:
    allow_private_destinations: bool
    connect_timeout: float
    read_timeout: float
    retry: RetryPolicy
    workers: int
    webhook_max_in_flight: int
    channel_max_in_flight: int
    batch_size: int
    poll_interval: float
    providers: dict[str, str]
    gateway_urls: dict[str, str]
    gateway_timeout: float
    gateway_retries: int
    notification_max_attempts: int

    # Rows claimed per slot (a subscription, a channel), as a multiple of its request limit:
    # the slot's next request starts the moment one finishes, without a database round trip.
    claim_ahead: int = 8

    @property
    def webhook_lease(self) -> timedelta:
        """How long claimed deliveries are left alone by every dispatcher (this one too): the
        last of a slot's claimed rows may wait behind `claim_ahead` rounds of sends that each
        run into their timeout, then take its own."""
        return self._lease(self.connect_timeout + self.read_timeout)

    @property
    def notification_lease(self) -> timedelta:
        gateway = (self.gateway_retries + 1) * (self.gateway_timeout + 3) + 2 * self.gateway_retries
        return self._lease(gateway)

    def _lease(self, longest_send: float) -> timedelta:
        return timedelta(seconds=(self.claim_ahead + 1) * longest_send + 30)


def notification_config(settings: Settings) -> NotificationConfig:
    # A laptop's `make run` (embedded SQLite) points webhooks at local receivers; anything with
    # a real database server is a shared deployment, where that must be switched on explicitly.
    laptop = settings.database_url.startswith("sqlite")
    return NotificationConfig(
        allow_private_destinations=settings.get_bool("WEBHOOK_ALLOW_PRIVATE", laptop),
        connect_timeout=settings.get_float("WEBHOOK_CONNECT_TIMEOUT", 3.0),
        read_timeout=settings.get_float("WEBHOOK_READ_TIMEOUT", 10.0),
        retry=RetryPolicy(
            base=timedelta(seconds=settings.get_float("WEBHOOK_RETRY_BASE_SECONDS", 10)),
            factor=settings.get_float("WEBHOOK_RETRY_FACTOR", 3.0),
            cap=timedelta(seconds=settings.get_float("WEBHOOK_RETRY_CAP_SECONDS", 4 * 3600)),
            window=timedelta(hours=settings.get_float("WEBHOOK_RETRY_WINDOW_HOURS", 24)),
            disable_after=timedelta(hours=settings.get_float("WEBHOOK_DISABLE_AFTER_HOURS", 24)),
        ),
        workers=settings.get_int("DISPATCH_WORKERS", 16),
        webhook_max_in_flight=settings.get_int("WEBHOOK_MAX_IN_FLIGHT", 4),
        channel_max_in_flight=settings.get_int("CHANNEL_MAX_IN_FLIGHT", 4),
        batch_size=settings.get_int("DISPATCH_BATCH_SIZE", 200),
        poll_interval=settings.get_float("DISPATCH_POLL_INTERVAL", 0.2),
        providers={
            channel: settings.get(f"{channel.upper()}_PROVIDER", "recording")
            for channel in CHANNELS
        },
        gateway_urls={
            channel: settings.get(f"{channel.upper()}_GATEWAY_URL", "") for channel in CHANNELS
        },
        gateway_timeout=settings.get_float("GATEWAY_TIMEOUT", 5.0),
        gateway_retries=settings.get_int("GATEWAY_RETRIES", 2),
        notification_max_attempts=settings.get_int("NOTIFICATION_MAX_ATTEMPTS", 6),
    )
