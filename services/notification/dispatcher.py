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

import urllib3
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
from services.notification.outbound import (
    DestinationGuard,
    describe_failure,
    guarded_pool_manager,
)
from services.notification.providers import (
    ChannelProvider,
    DeliveryFailed,
    OutgoingMessage,
    build_providers,
)
from shared.config import Settings
from shared.db import utcnow
from shared.healthcheck import HeartbeatFile
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
        self._http = guarded_pool_manager(self.guard, maxsize=self.config.workers)
        self._timeout = urllib3.Timeout(
            connect=self.config.connect_timeout, read=self.config.read_timeout
        )
        # Claimed and not yet recorded, per slot; and claimed rows waiting for their slot to
        # have a free request. Shared by the claiming loop, the recorder and the workers.
        self._lock = threading.RLock()
        self._claimed: collections.Counter[str] = collections.Counter()
        self._unrecorded: list[WebhookOutcome | NotificationOutcome] = []
        self._waiting: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._running: collections.Counter[str] = collections.Counter()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._finished_event = threading.Event()  # a send finished: something to record
        self._wake = threading.Event()  # slots were freed, or stop: the claiming loop goes on
        self._stop = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def run(self) -> None:
        """Claims on this thread and records on another, each in its own short transactions,
        so neither waits for the other's database round trips."""
        log.info(
            "dispatching with %d workers, at most %d requests per subscription",
            self.config.workers,
            self.config.webhook_max_in_flight,
        )
        recording = threading.Event()
        recorder = threading.Thread(
            target=self._record_until, args=(recording,), name="dispatch-recorder", daemon=True
        )
        recorder.start()
        heartbeat = HeartbeatFile()
        while not self._stop.is_set():
            heartbeat.beat()
            if not self._claim_step():
                self._wake.wait(self.config.poll_interval)
                self._wake.clear()
        self._drop_waiting()
        deadline = time.monotonic() + self.config.connect_timeout + self.config.read_timeout + 5
        while self.claimed and time.monotonic() < deadline:
            self._wake.wait(0.05)
            self._wake.clear()
        if self.claimed:
            log.warning("stopping with sends in flight; their leases will expire and retry")
        recording.set()
        self._finished_event.set()
        recorder.join(10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _record_until(self, done: threading.Event) -> None:
        while not done.is_set():
            if not self._record_step():
                self._finished_event.wait(self.config.poll_interval)
                self._finished_event.clear()
        self._record_step()

    def stop(self, *_args) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._drop_waiting()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def step(self, *, claim: bool = True) -> int:
        """One round on the calling thread: record what finished, then claim what is due
        (when `claim`). The number of rows recorded and claimed."""
        recorded = self._record_step()
        return recorded + (self._claim_step() if claim else 0)

    def run_once(self, timeout: float = 60.0) -> int:
        """Claims what is due now, sends it and records the results before returning; the
        number of rows claimed. For tests and tools that step time by hand."""
        self._record_step()
        claimed = self._claim_step()
        self.wait_idle(timeout)
        return claimed

    def wait_idle(self, timeout: float) -> None:
        """Records results until nothing claimed is outstanding (claims nothing new)."""
        deadline = time.monotonic() + timeout
        while self.claimed:
            if not self._record_step():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.claimed} claimed rows still outstanding")
                self._finished_event.wait(0.05)
                self._finished_event.clear()

    @property
    def claimed(self) -> int:
        with self._lock:
            return sum(self._claimed.values())

    def _claim_step(self) -> int:
        capacity = self._capacity() if not self._stop.is_set() else 0
        if capacity <= 0:
            return 0
        try:
            with self.database.session_factory() as session, session.begin():
                jobs = self._claim(session, self.clock(), capacity)
        except Exception:
            log.exception("could not claim due work; retrying")
            self._stop.wait(1.0)
            return 0
        self._enqueue(jobs)
        return len(jobs)

    def _record_step(self) -> int:
        outcomes = self._take_finished()
        if not outcomes:
            return 0
        try:
            with self.database.session_factory() as session, session.begin():
                self._record(session, outcomes, self.clock())
        except Exception:
            # The database is away: keep the results (their slots stay taken), try again.
            log.exception("could not record %d results; retrying", len(outcomes))
            self._unrecorded = outcomes
            self._stop.wait(1.0)
            return 0
        with self._lock:
            for outcome in outcomes:
                self._release(outcome.job.slot)
        self._wake.set()  # slots are free again: the claiming loop may take more
        return len(outcomes)

    # -- claiming ----------------------------------------------------------------------------
    def _capacity(self) -> int:
        return min(
            self.config.batch_size, self.config.claim_ahead * 2 * self.config.workers - self.claimed
        )

    def _claim(self, session, now: datetime, capacity: int) -> list[WebhookJob | NotificationJob]:
        jobs: list[WebhookJob | NotificationJob] = []
        for claimed in dao.dao_claim_due_deliveries(
            session,
            now,
            limit=capacity,
            max_per_subscription=self.config.claim_ahead * self.config.webhook_max_in_flight,
            in_flight=self._claimed_per("webhook:"),
            lease=self.config.webhook_lease,
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
            jobs.extend(self._claim_notifications(session, now, capacity - len(jobs)))
        return jobs

    def _claimed_per(self, prefix: str) -> dict[str, int]:
        with self._lock:
            return {
                slot.removeprefix(prefix): count
                for slot, count in self._claimed.items()
                if slot.startswith(prefix)
            }

    def _claim_notifications(self, session, now: datetime, limit: int) -> list[NotificationJob]:
        rows = dao.dao_claim_due_notifications(
            session,
            now,
            limit=limit,
            max_per_channel=self.config.claim_ahead * self.config.channel_max_in_flight,
            in_flight=self._claimed_per("channel:"),
            lease=self.config.notification_lease,
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

    # -- scheduling: a slot (one subscription, one channel) never exceeds its limit ----------
    def _limit(self, slot: str) -> int:
        if slot.startswith("webhook:"):
            return self.config.webhook_max_in_flight
        return self.config.channel_max_in_flight

    def _enqueue(self, jobs: list[WebhookJob | NotificationJob]) -> None:
        with self._lock:
            for job in jobs:
                self._claimed[job.slot] += 1
                self._waiting[job.slot].append(job)
            for slot in {job.slot for job in jobs}:
                self._start_ready(slot)

    def _start_ready(self, slot: str) -> None:
        waiting = self._waiting.get(slot)
        while waiting and self._running[slot] < self._limit(slot) and not self._stop.is_set():
            job = waiting.popleft()
            self._running[slot] += 1
            send = self._send_webhook if isinstance(job, WebhookJob) else self._send_notification
            self._pool.submit(send, job).add_done_callback(self._finished)
        if not waiting:
            self._waiting.pop(slot, None)

    def _finished(self, future: Future) -> None:
        """On the worker thread: free the slot, start the slot's next job, report back."""
        if future.cancelled():
            return
        outcome = future.result()
        with self._lock:
            self._running[outcome.job.slot] -= 1
            self._start_ready(outcome.job.slot)
        self._done.put(outcome)
        self._finished_event.set()

    def _drop_waiting(self) -> None:
        """Claimed rows not yet started keep their lease and come back after it."""
        with self._lock:
            for slot, waiting in self._waiting.items():
                self._claimed[slot] -= len(waiting)
            self._waiting.clear()

    def _release(self, slot: str) -> None:
        self._claimed[slot] -= 1
        if self._claimed[slot] <= 0:
            del self._claimed[slot]

    # -- sending (worker threads) ------------------------------------------------------------
    def _send_webhook(self, job: WebhookJob) -> WebhookOutcome:
        attempted_at = self.clock()
        headers = webhook_headers(job.key, job.event_id, int(attempted_at.timestamp()), job.payload)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = self._http.request(
                "POST",
                job.url,
                body=job.payload,
                headers=headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
            status_code = response.status
            self._read_some(response, started)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
                if 300 <= status_code < 400:
                    error += " (redirects are not followed)"
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            error = describe_failure(exc)
        except Exception as exc:  # a worker must always report back
            log.exception("webhook delivery %s crashed", job.delivery_id)
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = int((time.perf_counter() - started) * 1000)
        return WebhookOutcome(job, attempted_at, duration_ms, status_code, error)

    def _read_some(self, response: urllib3.BaseHTTPResponse, started: float) -> None:
        """Reads a little of the answer, so the connection can be reused; a receiver that
        sends a lot, or slowly, is cut off (its status code is all that counts)."""
        deadline = started + self.config.connect_timeout + self.config.read_timeout
        size = 0
        try:
            for chunk in response.stream(8192, decode_content=False):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES or time.perf_counter() > deadline:
                    response.close()  # the rest is unread: the connection cannot be reused
                    return
        except (urllib3.exceptions.HTTPError, OSError):
            response.close()
            return
        response.release_conn()

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
    def _take_finished(self) -> list[WebhookOutcome | NotificationOutcome]:
        outcomes, self._unrecorded = self._unrecorded, []
        while True:
            try:
                outcomes.append(self._done.get_nowait())
            except queue.Empty:
                return outcomes

    def _record(self, session, outcomes, now: datetime) -> None:
        webhooks = [o for o in outcomes if isinstance(o, WebhookOutcome)]
        notifications = [o for o in outcomes if isinstance(o, NotificationOutcome)]
        if webhooks:
            self._record_webhooks(session, webhooks, now)
        if notifications:
            self._record_notifications(session, notifications, now)

    def _record_webhooks(self, session, outcomes: list[WebhookOutcome], now: datetime) -> None:
        """Every attempt, then each delivery's new state, then each subscription's run of
        failures — in a handful of statements for the whole batch, since this is what bounds
        the dispatcher's deliveries per second."""
        outcomes = sorted(outcomes, key=lambda o: o.attempted_at)
        dao.dao_add_attempts(
            session,
            [
                {
                    "delivery_id": o.job.delivery_id,
                    "number": o.job.attempt_number,
                    "attempted_at": o.attempted_at,
                    "duration_ms": o.duration_ms,
                    "status_code": o.status_code,
                    "error": o.error,
                    "succeeded": o.succeeded,
                }
                for o in outcomes
            ],
        )
        changes = [self._delivered(o, now) for o in outcomes if o.succeeded]
        failures = [o for o in outcomes if not o.succeeded]
        if failures:
            states = dao.dao_delivery_states(session, (o.job.delivery_id for o in failures))
            for outcome in failures:
                state = states.get(outcome.job.delivery_id)
                if state is not None:
                    changes.append(self._failed(outcome, state.created_at, now))
        # A delivery cancelled meanwhile keeps its status; its attempt is recorded all the same.
        dao.dao_update_deliveries(session, changes, only_pending=True)
        for outcome in outcomes:
            WEBHOOK_ATTEMPTS.labels("success" if outcome.succeeded else "failure").inc()
        self._track_failing_runs(session, outcomes, now)

    def _delivered(self, outcome: WebhookOutcome, now: datetime) -> dict:
        return {
            "delivery_id": outcome.job.delivery_id,
            "status": "delivered",
            "attempt_count": outcome.job.attempt_number,
            "last_status_code": outcome.status_code,
            "last_error": None,
            "next_attempt_at": None,
            "delivered_at": now,
        }

    def _failed(self, outcome: WebhookOutcome, created_at: datetime, now: datetime) -> dict:
        policy = self.config.retry
        job = outcome.job
        change = {
            "delivery_id": job.delivery_id,
            "status": "pending",
            "attempt_count": job.attempt_number,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "next_attempt_at": None,
            "delivered_at": None,
        }
        if policy.gives_up(created_at, now):
            change["status"] = "failed"
            log.warning(
                "gave up delivering %s to subscription %s after %d attempts",
                job.event_id,
                job.subscription_id,
                job.attempt_number,
            )
        else:
            change["next_attempt_at"] = now + policy.delay(job.attempt_number, self.rng)
        return change

    def _track_failing_runs(self, session, outcomes: list[WebhookOutcome], now: datetime) -> None:
        """A success ends a subscription's run of failures; a failure starts one if none is
        running. A run that has lasted `disable_after` disables the subscription."""
        succeeded: set[str] = set()
        failing: dict[str, datetime | None] = {}
        for outcome in outcomes:  # oldest first
            sid = outcome.job.subscription_id
            if outcome.succeeded:
                succeeded.add(sid)
                failing[sid] = None
            elif failing.get(sid) is None:
                failing[sid] = outcome.attempted_at
        dao.dao_track_failing_since(
            session,
            restart={sid: failing[sid] for sid in succeeded},
            start={sid: since for sid, since in failing.items() if sid not in succeeded and since},
        )
        still_failing = [sid for sid, since in failing.items() if since is not None]
        if still_failing:
            policy = self.config.retry
            for sid, state in dao.dao_subscription_states(session, still_failing).items():
                if state.status == "active" and policy.disables(state.failing_since, now):
                    self._disable(session, sid, now)

    def _disable(self, session, subscription_id: str, now: datetime) -> None:
        subscription = session.get(models.WebhookSubscription, subscription_id)
        hours = self.config.retry.disable_after.total_seconds() / 3600
        subscription.status = "disabled"
        subscription.disabled_at = now
        subscription.disabled_reason = (
            f"every delivery failed for {hours:g} hours (since "
            f"{subscription.failing_since.isoformat()})"
        )
        dao.dao_cancel_pending_deliveries(session, subscription_id, "subscription disabled")
        self._keys.pop(subscription_id, None)
        log.warning(
            "disabled webhook subscription %s of %s: %s",
            subscription_id,
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
