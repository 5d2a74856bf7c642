"""The dispatcher process (`python -m shared.runtime.process notification dispatcher`, or
`python -m services.notification.dispatcher`): sends what the consumer queued — webhook
deliveries to integrators and notifications to citizens' channels — and records how each
attempt went.

This module is the edge that schedules: threads, slots and leases. What is claimed and how a
result is recorded are use cases (use_cases/dispatch.py), whether to try again and when to
disable a subscription are domain rules (domain/delivery.py), and the HTTP is the adapters'.

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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from services.notification import config as service_config
from services.notification.adapters.providers import DeliveryFailed
from services.notification.dao.deliveries import ClaimedDelivery
from services.notification.deps import Dependencies, build
from services.notification.domain.delivery import WebhookAttemptReport
from services.notification.domain.webhooks import (
    SECRET_COLUMN,
    delivery_body,
    secret_key,
    webhook_headers,
)
from services.notification.use_cases.dispatch import (
    NotificationReport,
    NotificationSend,
    claim_due_deliveries,
    claim_due_notifications,
    record_notification_sends,
    record_webhook_attempts,
)
from shared.db.uow import UnitOfWork
from shared.observability.logs import configure_logging
from shared.runtime.healthcheck import HeartbeatFile
from shared.time import utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
WEBHOOK = "webhook:"
CHANNEL = "channel:"


@dataclass(frozen=True)
class WebhookJob:
    delivery: ClaimedDelivery
    key: bytes

    @property
    def slot(self) -> str:
        return WEBHOOK + self.delivery.subscription_id


@dataclass(frozen=True)
class NotificationJob:
    send: NotificationSend

    @property
    def slot(self) -> str:
        return CHANNEL + self.send.message.channel


@dataclass(frozen=True)
class Outcome:
    """A finished send, waiting to be recorded; its slot is freed once it is."""

    slot: str
    report: WebhookAttemptReport | NotificationReport


class Dispatcher:
    """`deps` gives the database, the options, the providers and the webhook sender."""

    def __init__(
        self, deps: Dependencies, *, clock: Clock = utcnow, rng: random.Random | None = None
    ) -> None:
        self.deps = deps
        self.database = deps.database
        self.config = deps.options
        self.clock = clock
        self.rng = rng or random.Random()
        self._keys: dict[str, bytes] = {}  # subscription id → its decrypted signing key
        self._pool = ThreadPoolExecutor(self.config.workers, thread_name_prefix="dispatch")
        # Claimed and not yet recorded, per slot; and claimed rows waiting for their slot to
        # have a free request. Shared by the claiming loop, the recorder and the workers.
        self._lock = threading.RLock()
        self._claimed: collections.Counter[str] = collections.Counter()
        self._unrecorded: list[Outcome] = []
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
            with UnitOfWork(self.database, service_config.SERVICE) as uow:
                jobs = self._claim(uow, self.clock(), capacity)
                uow.commit()
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
            with UnitOfWork(self.database, service_config.SERVICE) as uow:
                self._record(uow, outcomes, self.clock())
                uow.commit()
        except Exception:
            # The database is away: keep the results (their slots stay taken), try again.
            log.exception("could not record %d results; retrying", len(outcomes))
            self._unrecorded = outcomes
            self._stop.wait(1.0)
            return 0
        with self._lock:
            for outcome in outcomes:
                self._release(outcome.slot)
        self._wake.set()  # slots are free again: the claiming loop may take more
        return len(outcomes)

    # -- claiming ----------------------------------------------------------------------------
    def _capacity(self) -> int:
        return min(
            self.config.batch_size, self.config.claim_ahead * 2 * self.config.workers - self.claimed
        )

    def _claim(self, uow: UnitOfWork, now: datetime, capacity: int) -> list:
        jobs: list[WebhookJob | NotificationJob] = [
            WebhookJob(claimed, self._key(claimed.subscription_id, claimed.secret_encrypted))
            for claimed in claim_due_deliveries(
                uow, self.deps, now=now, limit=capacity, in_flight=self._claimed_per(WEBHOOK)
            )
        ]
        if len(jobs) < capacity:
            sends = claim_due_notifications(
                uow,
                self.deps,
                now=now,
                limit=capacity - len(jobs),
                in_flight=self._claimed_per(CHANNEL),
                rng=self.rng,
            )
            jobs.extend(NotificationJob(send) for send in sends)
        return jobs

    def _claimed_per(self, prefix: str) -> dict[str, int]:
        with self._lock:
            return {
                slot.removeprefix(prefix): count
                for slot, count in self._claimed.items()
                if slot.startswith(prefix)
            }

    def _key(self, subscription_id: str, secret_encrypted: str) -> bytes:
        key = self._keys.get(subscription_id)
        if key is None:
            secret = self.deps.cipher.decrypt(secret_encrypted, column=SECRET_COLUMN)
            key = self._keys[subscription_id] = secret_key(secret)
        return key

    # -- scheduling: a slot (one subscription, one channel) never exceeds its limit ----------
    def _limit(self, slot: str) -> int:
        if slot.startswith(WEBHOOK):
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
            self._running[outcome.slot] -= 1
            self._start_ready(outcome.slot)
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
    def _send_webhook(self, job: WebhookJob) -> Outcome:
        delivery = job.delivery
        attempted_at = self.clock()
        payload = delivery_body(delivery.payload, delivery.holder_ref)
        headers = webhook_headers(
            job.key, delivery.event_id, int(attempted_at.timestamp()), payload
        )
        result = self.deps.webhook_sender.post(delivery.url, payload, headers)
        report = WebhookAttemptReport(
            delivery_id=delivery.delivery_id,
            subscription_id=delivery.subscription_id,
            event_id=delivery.event_id,
            number=delivery.attempt_number,
            attempted_at=attempted_at,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=result.error,
        )
        return Outcome(job.slot, report)

    def _send_notification(self, job: NotificationJob) -> Outcome:
        message = job.send.message

        def report(error: str | None, permanent: bool = False) -> Outcome:
            return Outcome(
                job.slot,
                NotificationReport(
                    message.notification_id, job.send.attempt_number, error, permanent
                ),
            )

        provider = self.deps.providers.get(message.channel)
        if provider is None:
            return report(f"no provider for {message.channel}", True)
        try:
            provider.send(message)
        except DeliveryFailed as exc:
            return report(str(exc)[:500], exc.permanent)
        except Exception as exc:  # a worker must always report back
            log.exception("provider %s crashed", provider.name)
            return report(f"{type(exc).__name__}: {exc}"[:500])
        return report(None)

    # -- recording ---------------------------------------------------------------------------
    def _take_finished(self) -> list[Outcome]:
        outcomes, self._unrecorded = self._unrecorded, []
        while True:
            try:
                outcomes.append(self._done.get_nowait())
            except queue.Empty:
                return outcomes

    def _record(self, uow: UnitOfWork, outcomes: list[Outcome], now: datetime) -> None:
        webhooks = [o.report for o in outcomes if isinstance(o.report, WebhookAttemptReport)]
        notifications = [o.report for o in outcomes if isinstance(o.report, NotificationReport)]
        if webhooks:
            disabled = record_webhook_attempts(
                uow, self.deps, reports=webhooks, now=now, rng=self.rng
            )
            for subscription_id in disabled:
                self._keys.pop(subscription_id, None)
        if notifications:
            record_notification_sends(uow, self.deps, reports=notifications, now=now, rng=self.rng)


def main() -> None:
    settings = service_config.load()
    configure_logging(
        f"{settings.service}-dispatcher", level=settings.log_level, json_lines=settings.log_json
    )
    deps = build(settings, pool_size=2)
    dispatcher = Dispatcher(deps)
    signal.signal(signal.SIGTERM, dispatcher.stop)
    signal.signal(signal.SIGINT, dispatcher.stop)
    dispatcher.run()
    deps.database.dispose()
    log.info("dispatcher stopped")


if __name__ == "__main__":
    main()
