"""When a send is tried again, when it is given up, and when a webhook subscription is switched
off: pure decisions over what an attempt got and what time it is, so they are tested without a
clock, a receiver or a database.

Webhooks back off exponentially with jitter until their retry window is over; a subscription
whose deliveries have failed without a single success for `disable_after` is disabled.
Notifications to citizens back off on their own, gentler, schedule for a fixed number of tries.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.notification.domain.statuses import DeliveryStatus, SubscriptionStatus


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: `base · factor^(n-1)`, capped, ±`jitter`; a delivery
    is given up once `window` has passed since it was first due, and a subscription whose
    deliveries have failed without a single success for `disable_after` is switched off."""

    base: timedelta = timedelta(seconds=10)
    factor: float = 3.0
    cap: timedelta = timedelta(hours=4)
    jitter: float = 0.25
    window: timedelta = timedelta(hours=24)
    disable_after: timedelta = timedelta(hours=24)

    def delay(self, failed_attempts: int, rng: random.Random | None = None) -> timedelta:
        """How long to wait after the `failed_attempts`-th failure (1-based)."""
        exponent = max(failed_attempts - 1, 0)
        raw = self.base.total_seconds() * self.factor**exponent
        capped = min(raw, self.cap.total_seconds())
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return timedelta(seconds=capped * spread)

    def gives_up(self, first_due: datetime, now: datetime) -> bool:
        return now - first_due >= self.window

    def disables(self, failing_since: datetime | None, now: datetime) -> bool:
        return failing_since is not None and now - failing_since >= self.disable_after


NOTIFICATION_RETRY = RetryPolicy(
    base=timedelta(seconds=30), factor=2.0, cap=timedelta(hours=1), window=timedelta(days=1)
)
# Why a queued notification waits: the address comes with `account.registered` (or the
# citizen's own binding), and is waited for as for a failed send.
NO_ADDRESS = "no address bound on this channel yet"


# -- webhooks --------------------------------------------------------------------------------
def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def http_error(status_code: int) -> str | None:
    """What is recorded for an answer, None for a success."""
    if is_success(status_code):
        return None
    error = f"HTTP {status_code}"
    if 300 <= status_code < 400:
        error += " (redirects are not followed)"
    return error


@dataclass(frozen=True)
class WebhookAttemptReport:
    """What one POST of one delivery got."""

    delivery_id: str
    subscription_id: str
    event_id: str
    number: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return is_success(self.status_code)


@dataclass(frozen=True)
class DeliveryChange:
    """A delivery's new state after an attempt (the columns `dao_update_deliveries` sets)."""

    delivery_id: str
    status: DeliveryStatus
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @property
    def gave_up(self) -> bool:
        return self.status == DeliveryStatus.FAILED

    def values(self) -> dict:
        """The change as `dao_update_deliveries` takes it."""
        return {
            "delivery_id": self.delivery_id,
            "status": self.status,
            "attempt_count": self.attempt_count,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at,
            "delivered_at": self.delivered_at,
        }


def after_success(report: WebhookAttemptReport, now: datetime) -> DeliveryChange:
    return DeliveryChange(
        delivery_id=report.delivery_id,
        status=DeliveryStatus.DELIVERED,
        attempt_count=report.number,
        last_status_code=report.status_code,
        last_error=None,
        next_attempt_at=None,
        delivered_at=now,
    )


def after_failure(
    policy: RetryPolicy,
    report: WebhookAttemptReport,
    *,
    first_due: datetime,
    now: datetime,
    rng: random.Random,
) -> DeliveryChange:
    """Tried again after the backoff, or failed for good once the retry window is over."""
    gives_up = policy.gives_up(first_due, now)
    return DeliveryChange(
        delivery_id=report.delivery_id,
        status=DeliveryStatus.FAILED if gives_up else DeliveryStatus.PENDING,
        attempt_count=report.number,
        last_status_code=report.status_code,
        last_error=report.error,
        next_attempt_at=None if gives_up else now + policy.delay(report.number, rng),
        delivered_at=None,
    )


@dataclass(frozen=True)
class FailingRuns:
    """How a batch of attempts changes subscriptions' runs of failures.

    `restart`: subscriptions with a success in the batch — their run is now none, or begins at
    the first failure after their last success. `start`: subscriptions that only failed — a run
    begins then, unless one is already running. `still_failing`: every subscription whose
    batch ended in a failure, to check against `disable_after`."""

    restart: dict[str, datetime | None] = field(default_factory=dict)
    start: dict[str, datetime] = field(default_factory=dict)
    still_failing: list[str] = field(default_factory=list)


def failing_runs(reports: Iterable[WebhookAttemptReport]) -> FailingRuns:
    """`reports` oldest first: a success ends a subscription's run of failures, a failure
    starts one if none is running."""
    succeeded: set[str] = set()
    failing: dict[str, datetime | None] = {}
    for report in reports:
        sid = report.subscription_id
        if report.succeeded:
            succeeded.add(sid)
            failing[sid] = None
        elif failing.get(sid) is None:
            failing[sid] = report.attempted_at
    return FailingRuns(
        restart={sid: failing[sid] for sid in succeeded},
        start={sid: since for sid, since in failing.items() if sid not in succeeded and since},
        still_failing=[sid for sid, since in failing.items() if since is not None],
    )


def disables(
    policy: RetryPolicy, status: str, failing_since: datetime | None, now: datetime
) -> bool:
    """An active subscription whose run of failures has lasted `disable_after` is switched off."""
    return status == SubscriptionStatus.ACTIVE and policy.disables(failing_since, now)


def failing_hours(policy: RetryPolicy) -> str:
    return f"{policy.disable_after.total_seconds() / 3600:g}"


def disabled_reason(policy: RetryPolicy, failing_since: datetime) -> str:
    return (
        f"every delivery failed for {failing_hours(policy)} hours (since "
        f"{failing_since.isoformat()})"
    )


# -- notifications ---------------------------------------------------------------------------
def counts_as_attempt(error: str) -> bool:
    """A notification that waited for its address was never handed to a provider: the wait
    counts against its tries here, where a send's own attempt number does not reach."""
    return error == NO_ADDRESS


def next_notification_attempt(
    attempts: int, *, permanent: bool, max_attempts: int, now: datetime, rng: random.Random
) -> datetime | None:
    """When a failed notification is tried again; None when it has failed for good (the
    provider said trying again cannot help, or it has had its tries)."""
    if permanent or attempts >= max_attempts:
        return None
    return now + NOTIFICATION_RETRY.delay(attempts, rng)
