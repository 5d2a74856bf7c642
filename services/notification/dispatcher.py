"""The dispatcher process (`python -m shared.process notification dispatcher`): sends what the
consumer queued — webhook deliveries to integrators and notifications to citizens' channels —
and records how each attempt went.

Work is rows with a `next_attempt_at`. Each round claims the rows that are due (FOR UPDATE SKIP
LOCKED on PostgreSQL, so several dispatchers share the work), leases them by pushing
`next_attempt_at` past any possible send, and hands them to a bounded thread pool; results are
written back in batches. Isolation: no subscription (and no channel) may have more than a few
requests in flight, so a receiver that hangs until its timeout only ever holds its own slots
while everyone else's deliveries go on.

Delivery is at least once: a dispatcher killed between sending and recording leaves the lease
to expire, and the event goes out again with the same `webhook-id` (receivers deduplicate on
it, as Standard Webhooks recommends).

The clock is injectable, so backoff and the 24-hour disabling can be tested without waiting.
"""

from __future__ import annotations

import collections
import logging
import queue
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from prometheus_client import Counter

from services.notification import config as service_config
from services.notification import dao, models
from services.notification.config import NotificationConfig, notification_config
from services.notification.domain.channels import INBOX
from services.notification.domain.messages import SUBSCRIPTION_DISABLED
from services.notification.domain.notices import Facts, Recipient, compose
from services.notification.domain.templates import TemplateBook
from services.notification.domain.webhooks import (
    SECRET_COLUMN,
    RetryPolicy,
    secret_key,
    webhook_headers,
)
from services.notification.outbound import DestinationGuard, describe_failure, guarded_session
from services.notification.providers import (
    ChannelProvider,
    DeliveryFailed,
    OutgoingMessage,
    build_providers,
)
from shared.config import Settings
from shared.db import utcnow
from shared.logs import configure_logging
from shared.pii import FieldCipher
from shared.uow import Database

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

MAX_RESPONSE_BYTES = 64 * 1024
NOTIFICATION_RETRY = RetryPolicy(
    base=timedelta(seconds=30), factor=2.0, cap=timedelta(hours=1), window=timedelta(days=1)
)
NO_ADDRESS = "no address bound on this channel yet"
_NOTICE_NAMESPACE = uuid.UUID("5d0e8a4c-2f7e-4b1a-9a53-7c1f3f0b2d61")

WEBHOOK_ATTEMPTS = Counter(
    "sscard_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"]
)
CHANNEL_SENDS = Counter(
    "sscard_notification_sends_total",
    "Notification sends by channel and outcome",
    ["channel", "outcome"],
)


@dataclass(frozen=True)
class WebhookJob:
    delivery_id: str
    subscription_id: str
    event_id: str
    attempt_number: int
    url: str
    key: bytes
    payload: bytes

    @property
    def slot(self) -> str:
        return "webhook:" + self.subscription_id


@dataclass(frozen=True)
class WebhookOutcome:
    job: WebhookJob
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class NotificationJob:
    message: OutgoingMessage
    attempt_number: int

    @property
    def slot(self) -> str:
        return "channel:" + self.message.channel


@dataclass(frozen=True)
class NotificationOutcome:
    job: NotificationJob
    error: str | None
    permanent: bool = False


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        config: NotificationConfig | None = None,
        clock: Clock = utcnow,
        providers: dict[str, ChannelProvider] | None = None,
        guard: DestinationGuard | None = None,
        templates: TemplateBook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.config = config or notification_config(settings)
        self.clock = clock
        self.providers = (
            providers if providers is not None else build_providers(settings, self.config)
        )
        self.guard = guard or DestinationGuard(allow_private=self.config.allow_private_destinations)
        self.templates = templates or TemplateBook()
        self.rng = rng or random.Random()
        self._cipher = FieldCipher(settings.pii_key())
        self._keys: dict[str, bytes] = {}
        self._pool = ThreadPoolExecutor(self.config.workers, thread_name_prefix="dispatch")
        self._local = threading.local()
        # Touched only by the thread that runs the loop; workers report through `_done`.
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._unrecorded: list[WebhookOutcome | NotificationOutcome] = []
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def run(self) -> None:
        log.info(
            "dispatching with %d workers, at most %d requests per subscription",
            self.config.workers,
            self.config.webhook_max_in_flight,
        )
        while not self._stop.is_set():
            if not self.step():
                self._wake.wait(self.config.poll_interval)
                self._wake.clear()
        try:
            self.wait_idle(self.config.connect_timeout + self.config.read_timeout + 5)
        except TimeoutError:
            log.warning("stopping with sends in flight; their leases will expire and retry")
        self._pool.shutdown(wait=False, cancel_futures=True)

    def stop(self, *_args) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def step(self) -> bool:
        """One round: record what finished, claim and start what is due. True if anything
        happened (the loop then goes straight on)."""
        recorded = self._record_finished()
        claimed = self._claim_and_submit()
        return bool(recorded or claimed)

    def run_once(self, timeout: float = 60.0) -> int:
        """Claims what is due now, sends it and records the results before returning; the
        number of rows claimed. For tests and tools that step time by hand."""
        claimed = self._claim_and_submit()
        self.wait_idle(timeout)
        return claimed

    def wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.in_flight:
            if not self._record_finished():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.in_flight} sends still in flight")
                self._wake.wait(0.05)
                self._wake.clear()

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    # -- claiming ----------------------------------------------------------------------------
    def _claim_and_submit(self) -> int:
        capacity = min(self.config.batch_size, 2 * self.config.workers - self.in_flight)
        if capacity <= 0:
            return 0
        now = self.clock()
        webhook_slots = {
            slot.removeprefix("webhook:"): count
            for slot, count in self._in_flight.items()
            if slot.startswith("webhook:")
        }
        channel_slots = {
            slot.removeprefix("channel:"): count
            for slot, count in self._in_flight.items()
            if slot.startswith("channel:")
        }
        jobs: list[WebhookJob | NotificationJob] = []
        with self.database.session_factory() as session, session.begin():
            for claimed in dao.dao_claim_due_deliveries(
                session,
                now,
                limit=capacity,
                max_per_subscription=self.config.webhook_max_in_flight,
                in_flight=webhook_slots,
                lease=self.config.lease,
            ):
                jobs.append(
                    WebhookJob(
                        delivery_id=claimed.delivery_id,
                        subscription_id=claimed.subscription_id,
                        event_id=claimed.event_id,
                        attempt_number=claimed.attempt_number,
                        url=claimed.url,
                        key=self._key(claimed.subscription_id, claimed.secret_encrypted),
                        payload=claimed.payload.encode(),
                    )
                )
            if len(jobs) < capacity:
                jobs.extend(
                    self._claim_notifications(session, now, capacity - len(jobs), channel_slots)
                )
        for job in jobs:
            self._submit(job)
        return len(jobs)

    def _claim_notifications(self, session, now: datetime, limit: int, in_flight) -> list:
        rows = dao.dao_claim_due_notifications(
            session,
            now,
            limit=limit,
            max_per_channel=self.config.channel_max_in_flight,
            in_flight=in_flight,
            lease=self.config.lease,
        )
        addresses = dao.dao_get_addresses(session, ((n.account_id, n.channel) for n in rows))
        jobs = []
        for row in rows:
            address = addresses.get((row.account_id, row.channel))
            if address is None:
                # The address comes with `account.registered` (or the citizen's own binding);
                # wait for it as for a failed send.
                self._fail_notification(row, NO_ADDRESS, permanent=False, now=now)
                continue
            message = OutgoingMessage(
                notification_id=row.notification_id,
                channel=row.channel,
                address=address,
                body=row.body,
                event_type=row.event_type,
            )
            jobs.append(NotificationJob(message, row.attempts + 1))
        return jobs

    def _key(self, subscription_id: str, secret_encrypted: str) -> bytes:
        key = self._keys.get(subscription_id)
        if key is None:
            secret = self._cipher.decrypt(secret_encrypted, column=SECRET_COLUMN)
            key = self._keys[subscription_id] = secret_key(secret)
        return key

    def _submit(self, job: WebhookJob | NotificationJob) -> None:
        self._in_flight[job.slot] += 1
        send = self._send_webhook if isinstance(job, WebhookJob) else self._send_notification
        future = self._pool.submit(send, job)
        future.add_done_callback(self._finished)

    def _finished(self, future: Future) -> None:
        self._done.put(future.result())
        self._wake.set()

    # -- sending (worker threads) ------------------------------------------------------------
    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = guarded_session(self.guard)
        return session

    def _send_webhook(self, job: WebhookJob) -> WebhookOutcome:
        attempted_at = self.clock()
        headers = webhook_headers(job.key, job.event_id, int(attempted_at.timestamp()), job.payload)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            with self._http().post(
                job.url,
                data=job.payload,
                headers=headers,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
                allow_redirects=False,
                stream=True,
            ) as response:
                status_code = response.status_code
                self._read_some(response, started)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
                if 300 <= status_code < 400:
                    error += " (redirects are not followed)"
        except requests.RequestException as exc:
            error = describe_failure(exc)
        except Exception as exc:  # a worker must always report back
            log.exception("webhook delivery %s crashed", job.delivery_id)
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = int((time.perf_counter() - started) * 1000)
        return WebhookOutcome(job, attempted_at, duration_ms, status_code, error)

    def _read_some(self, response: requests.Response, started: float) -> None:
        """Reads a little of the answer, so the connection can be reused; a receiver that
        sends a lot, or slowly, is cut off (its status code is all that counts)."""
        deadline = started + self.config.connect_timeout + self.config.read_timeout
        size = 0
        for chunk in response.iter_content(8192):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES or time.perf_counter() > deadline:
                break

    def _send_notification(self, job: NotificationJob) -> NotificationOutcome:
        provider = self.providers.get(job.message.channel)
        if provider is None:
            return NotificationOutcome(job, f"no provider for {job.message.channel}", True)
        try:
            provider.send(job.message)
        except DeliveryFailed as exc:
            return NotificationOutcome(job, str(exc)[:500], exc.permanent)
        except Exception as exc:
            log.exception("provider %s crashed", provider.name)
            return NotificationOutcome(job, f"{type(exc).__name__}: {exc}"[:500])
        return NotificationOutcome(job, None)

    # -- recording ---------------------------------------------------------------------------
    def _record_finished(self) -> int:
        outcomes = self._unrecorded
        self._unrecorded = []
        while True:
            try:
                outcomes.append(self._done.get_nowait())
            except queue.Empty:
                break
        if not outcomes:
            return 0
        webhooks = [o for o in outcomes if isinstance(o, WebhookOutcome)]
        notifications = [o for o in outcomes if isinstance(o, NotificationOutcome)]
        try:
            with self.database.session_factory() as session, session.begin():
                now = self.clock()
                if webhooks:
                    self._record_webhooks(session, webhooks, now)
                if notifications:
                    self._record_notifications(session, notifications, now)
        except Exception:
            # The database is away; keep the results (their slots stay taken) and try again.
            log.exception("could not record %d results; retrying", len(outcomes))
            self._unrecorded = outcomes
            self._stop.wait(1.0)
            return 0
        for outcome in outcomes:
            self._in_flight[outcome.job.slot] -= 1
            if self._in_flight[outcome.job.slot] <= 0:
                del self._in_flight[outcome.job.slot]
        return len(outcomes)

    def _record_webhooks(self, session, outcomes: list[WebhookOutcome], now: datetime) -> None:
        policy = self.config.retry
        deliveries = dao.dao_get_deliveries(session, (o.job.delivery_id for o in outcomes))
        subscriptions = dao.dao_get_subscriptions(
            session, (o.job.subscription_id for o in outcomes)
        )
        to_disable = {}
        attempts = []
        for outcome in sorted(outcomes, key=lambda o: o.attempted_at):
            job = outcome.job
            WEBHOOK_ATTEMPTS.labels("success" if outcome.succeeded else "failure").inc()
            attempts.append(
                {
                    "delivery_id": job.delivery_id,
                    "number": job.attempt_number,
                    "attempted_at": outcome.attempted_at,
                    "duration_ms": outcome.duration_ms,
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                    "succeeded": outcome.succeeded,
                }
            )
            delivery = deliveries.get(job.delivery_id)
            subscription = subscriptions.get(job.subscription_id)
            if delivery is None or subscription is None or delivery.status != "pending":
                continue  # cancelled meanwhile: the attempt is recorded, nothing else changes
            delivery.attempt_count = job.attempt_number
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            if outcome.succeeded:
                delivery.status = "delivered"
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                subscription.failing_since = None
                continue
            if subscription.failing_since is None:
                subscription.failing_since = outcome.attempted_at
            if policy.gives_up(delivery.created_at, now):
                delivery.status = "failed"
                delivery.next_attempt_at = None
                log.warning(
                    "gave up delivering %s to subscription %s after %d attempts",
                    job.event_id,
                    job.subscription_id,
                    job.attempt_number,
                )
            else:
                delivery.next_attempt_at = now + policy.delay(job.attempt_number, self.rng)
            if subscription.status == "active" and policy.disables(subscription.failing_since, now):
                to_disable[subscription.subscription_id] = subscription
        dao.dao_add_attempts(session, attempts)
        for subscription in to_disable.values():
            self._disable(session, subscription, now)

    def _disable(self, session, subscription: models.WebhookSubscription, now: datetime) -> None:
        hours = self.config.retry.disable_after.total_seconds() / 3600
        subscription.status = "disabled"
        subscription.disabled_at = now
        subscription.disabled_reason = (
            f"every delivery failed for {hours:g} hours (since "
            f"{subscription.failing_since.isoformat()})"
        )
        dao.dao_cancel_pending_deliveries(
            session, subscription.subscription_id, "subscription disabled"
        )
        self._keys.pop(subscription.subscription_id, None)
        log.warning(
            "disabled webhook subscription %s of %s: %s",
            subscription.subscription_id,
            subscription.owner_id,
            subscription.disabled_reason,
        )
        self._tell_owner(session, subscription, hours, now)

    def _tell_owner(self, session, subscription, hours: float, now: datetime) -> None:
        """The owner hears on every channel they bound, and always finds the notice in their
        own notification list (`GET /notifications`), whose `inbox` entry needs no address."""
        bindings = dao.dao_get_bindings(session, subscription.owner_id)
        recipients = [Recipient(INBOX, bindings[0].locale if bindings else "zh-CN")]
        recipients += [Recipient(b.channel, b.locale) for b in bindings]
        facts = Facts(
            extra={
                "subscription_id": subscription.subscription_id,
                "url": subscription.url,
                "failing_hours": f"{hours:g}",
            }
        )
        event_id = str(uuid.uuid5(_NOTICE_NAMESPACE, subscription.subscription_id))
        rows = []
        for message in compose(self.templates, SUBSCRIPTION_DISABLED, facts, recipients):
            row = {
                "event_id": event_id,
                "channel": message.channel,
                "account_id": subscription.owner_id,
                "event_type": SUBSCRIPTION_DISABLED,
                "locale": message.locale,
                "body": message.body,
                "template": message.template,
            }
            if message.channel == INBOX:
                row.update(status="sent", sent_at=now, next_attempt_at=None)
            rows.append(row)
        dao.dao_queue_notifications(session, rows)

    def _record_notifications(self, session, outcomes: list[NotificationOutcome], now) -> None:
        rows = dao.dao_get_notifications(session, (o.job.message.notification_id for o in outcomes))
        for outcome in outcomes:
            row = rows.get(outcome.job.message.notification_id)
            if row is None or row.status != "queued":
                continue
            CHANNEL_SENDS.labels(row.channel, "sent" if outcome.error is None else "failed").inc()
            row.attempts = outcome.job.attempt_number
            if outcome.error is None:
                row.status = "sent"
                row.sent_at = now
                row.next_attempt_at = None
                row.last_error = None
            else:
                self._fail_notification(row, outcome.error, permanent=outcome.permanent, now=now)

    def _fail_notification(
        self, row: models.Notification, error: str, *, permanent: bool, now
    ) -> None:
        if row.status != "queued":
            return
        if error == NO_ADDRESS:
            row.attempts += 1
        row.last_error = error
        if permanent or row.attempts >= self.config.notification_max_attempts:
            row.status = "failed"
            row.next_attempt_at = None
            log.warning("notification %s on %s failed: %s", row.notification_id, row.channel, error)
        else:
            row.next_attempt_at = now + NOTIFICATION_RETRY.delay(row.attempts, self.rng)


def main() -> None:
    settings = service_config.load()
    configure_logging(
        f"{settings.service}-dispatcher", level=settings.log_level, json_lines=settings.log_json
    )
    database = Database(settings.database_url, models.metadata, pool_size=2)
    dispatcher = Dispatcher(settings, database)
    signal.signal(signal.SIGTERM, dispatcher.stop)
    signal.signal(signal.SIGINT, dispatcher.stop)
    dispatcher.run()
    database.dispose()
    log.info("dispatcher stopped")


if __name__ == "__main__":
    main()
