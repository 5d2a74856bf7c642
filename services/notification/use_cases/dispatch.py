"""The dispatcher's use cases: claiming what is due to be sent (webhook deliveries and
notifications, each leased to this dispatcher), and recording how each send went — a
delivery's next attempt or its end, a subscription's run of failures and its disabling, a
notification's retry. The decisions are domain/delivery.py's; the threads that send are the
dispatcher's (dispatcher.py)."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter

from services.notification.adapters.providers import OutgoingMessage
from services.notification.dao.contacts import dao_get_addresses, dao_get_bindings
from services.notification.dao.deliveries import (
    ClaimedDelivery,
    dao_add_attempts,
    dao_cancel_pending_deliveries,
    dao_claim_due_deliveries,
    dao_delivery_states,
    dao_update_deliveries,
)
from services.notification.dao.notifications import (
    dao_claim_due_notifications,
    dao_get_notifications,
    dao_queue_notifications,
)
from services.notification.dao.subscriptions import (
    dao_get_subscription,
    dao_subscription_states,
    dao_track_failing_since,
)
from services.notification.deps import Dependencies
from services.notification.domain.channels import DEFAULT_LOCALE, INBOX
from services.notification.domain.delivery import (
    NO_ADDRESS,
    WebhookAttemptReport,
    after_failure,
    after_success,
    counts_as_attempt,
    disabled_reason,
    disables,
    failing_hours,
    failing_runs,
    next_notification_attempt,
)
from services.notification.domain.messages import SUBSCRIPTION_DISABLED
from services.notification.domain.notices import Facts, Recipient, compose
from services.notification.domain.statuses import NotificationStatus, SubscriptionStatus
from services.notification.models import Notification, WebhookSubscription
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

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
class NotificationSend:
    """A claimed notification, with its address, for its channel's provider."""

    message: OutgoingMessage
    attempt_number: int


@dataclass(frozen=True)
class NotificationReport:
    """How handing one notification to its provider went. `permanent`: retrying cannot help."""

    notification_id: str
    attempt_number: int
    error: str | None
    permanent: bool = False


# -- claiming --------------------------------------------------------------------------------
def claim_due_deliveries(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    now: datetime,
    limit: int,
    in_flight: Mapping[str, int],
) -> list[ClaimedDelivery]:
    """`in_flight`: per subscription, what this dispatcher has claimed and not yet recorded."""
    options = deps.options
    return dao_claim_due_deliveries(
        uow.session,
        now,
        limit=limit,
        max_per_subscription=options.claim_ahead * options.webhook_max_in_flight,
        in_flight=in_flight,
        lease=options.webhook_lease,
    )


def claim_due_notifications(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    now: datetime,
    limit: int,
    in_flight: Mapping[str, int],
    rng: random.Random,
) -> list[NotificationSend]:
    """`in_flight`: per channel. One whose account has no address on its channel yet waits
    for it as for a failed send."""
    options = deps.options
    rows = dao_claim_due_notifications(
        uow.session,
        now,
        limit=limit,
        max_per_channel=options.claim_ahead * options.channel_max_in_flight,
        in_flight=in_flight,
        lease=options.notification_lease,
    )
    addresses = dao_get_addresses(uow.session, ((n.account_id, n.channel) for n in rows))
    sends = []
    for row in rows:
        address = addresses.get((row.account_id, row.channel))
        if address is None:
            _fail_notification(deps, row, NO_ADDRESS, permanent=False, now=now, rng=rng)
            continue
        message = OutgoingMessage(
            notification_id=row.notification_id,
            channel=row.channel,
            address=address,
            body=row.body,
            event_type=row.event_type,
        )
        sends.append(NotificationSend(message, row.attempts + 1))
    return sends


# -- recording webhook attempts --------------------------------------------------------------
def record_webhook_attempts(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    reports: Sequence[WebhookAttemptReport],
    now: datetime,
    rng: random.Random,
) -> list[str]:
    """Every attempt, then each delivery's new state, then each subscription's run of
    failures — in a handful of statements for the whole batch, since this is what bounds
    the dispatcher's deliveries per second. The subscriptions it disabled."""
    session = uow.session
    reports = sorted(reports, key=lambda r: r.attempted_at)
    dao_add_attempts(
        session,
        [
            {
                "delivery_id": r.delivery_id,
                "number": r.number,
                "attempted_at": r.attempted_at,
                "duration_ms": r.duration_ms,
                "status_code": r.status_code,
                "error": r.error,
                "succeeded": r.succeeded,
            }
            for r in reports
        ],
    )
    changes = [after_success(r, now) for r in reports if r.succeeded]
    failures = [r for r in reports if not r.succeeded]
    if failures:
        states = dao_delivery_states(session, (r.delivery_id for r in failures))
        for report in failures:
            state = states.get(report.delivery_id)
            if state is None:
                continue
            change = after_failure(
                deps.options.retry, report, first_due=state.created_at, now=now, rng=rng
            )
            if change.gave_up:
                log.warning(
                    "gave up delivering %s to subscription %s after %d attempts",
                    report.event_id,
                    report.subscription_id,
                    report.number,
                )
            changes.append(change)
    # A delivery cancelled meanwhile keeps its status; its attempt is recorded all the same.
    dao_update_deliveries(session, [c.values() for c in changes], only_pending=True)
    for report in reports:
        WEBHOOK_ATTEMPTS.labels("success" if report.succeeded else "failure").inc()
    return _track_failing_runs(uow, deps, reports, now)


def _track_failing_runs(
    uow: UnitOfWork, deps: Dependencies, reports: list[WebhookAttemptReport], now: datetime
) -> list[str]:
    """A run of failures that has lasted `disable_after` disables the subscription."""
    runs = failing_runs(reports)
    dao_track_failing_since(uow.session, restart=runs.restart, start=runs.start)
    disabled: list[str] = []
    if runs.still_failing:
        states = dao_subscription_states(uow.session, runs.still_failing)
        for sid, state in states.items():
            if disables(deps.options.retry, state.status, state.failing_since, now):
                disable_subscription(uow, deps, subscription_id=sid, now=now)
                disabled.append(sid)
    return disabled


def disable_subscription(
    uow: UnitOfWork, deps: Dependencies, *, subscription_id: str, now: datetime
) -> None:
    """Switched off, its pending deliveries cancelled, and its owner told."""
    subscription = dao_get_subscription(uow.session, subscription_id)
    subscription.status = SubscriptionStatus.DISABLED
    subscription.disabled_at = now
    subscription.disabled_reason = disabled_reason(deps.options.retry, subscription.failing_since)
    dao_cancel_pending_deliveries(uow.session, subscription_id, "subscription disabled")
    log.warning(
        "disabled webhook subscription %s of %s: %s",
        subscription_id,
        subscription.owner_id,
        subscription.disabled_reason,
    )
    _tell_owner(uow, deps, subscription, now)


def _tell_owner(
    uow: UnitOfWork, deps: Dependencies, subscription: WebhookSubscription, now: datetime
) -> None:
    """The owner hears on every channel they bound, and always finds the notice in their
    own notification list (`GET /notifications`), whose `inbox` entry needs no address."""
    bindings = dao_get_bindings(uow.session, subscription.owner_id)
    recipients = [Recipient(INBOX, bindings[0].locale if bindings else DEFAULT_LOCALE)]
    recipients += [Recipient(b.channel, b.locale) for b in bindings]
    facts = Facts(
        extra={
            "subscription_id": subscription.subscription_id,
            "url": subscription.url,
            "failing_hours": failing_hours(deps.options.retry),
        }
    )
    event_id = str(uuid.uuid5(_NOTICE_NAMESPACE, subscription.subscription_id))
    rows = []
    for message in compose(deps.templates, SUBSCRIPTION_DISABLED, facts, recipients):
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
            row.update(status=NotificationStatus.SENT, sent_at=now, next_attempt_at=None)
        rows.append(row)
    dao_queue_notifications(uow.session, rows)


# -- recording notification sends ------------------------------------------------------------
def record_notification_sends(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    reports: Sequence[NotificationReport],
    now: datetime,
    rng: random.Random,
) -> None:
    """Sent, or tried again later, or failed for good; one no longer queued is left alone."""
    rows = dao_get_notifications(uow.session, (r.notification_id for r in reports))
    for report in reports:
        row = rows.get(report.notification_id)
        if row is None or row.status != NotificationStatus.QUEUED:
            continue
        outcome = NotificationStatus.SENT if report.error is None else NotificationStatus.FAILED
        CHANNEL_SENDS.labels(row.channel, outcome.value).inc()
        row.attempts = report.attempt_number
        if report.error is None:
            row.status = NotificationStatus.SENT
            row.sent_at = now
            row.next_attempt_at = None
            row.last_error = None
        else:
            _fail_notification(
                deps, row, report.error, permanent=report.permanent, now=now, rng=rng
            )


def _fail_notification(
    deps: Dependencies,
    row: Notification,
    error: str,
    *,
    permanent: bool,
    now: datetime,
    rng: random.Random,
) -> None:
    if row.status != NotificationStatus.QUEUED:
        return
    if counts_as_attempt(error):
        row.attempts += 1
    row.last_error = error
    retry_at = next_notification_attempt(
        row.attempts,
        permanent=permanent,
        max_attempts=deps.options.notification_max_attempts,
        now=now,
        rng=rng,
    )
    row.next_attempt_at = retry_at
    if retry_at is None:
        row.status = NotificationStatus.FAILED
        log.warning("notification %s on %s failed: %s", row.notification_id, row.channel, error)
