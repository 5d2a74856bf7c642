"""The dispatcher's rules as pure functions: when a webhook is tried again or given up, how a
batch of attempts moves a subscription's run of failures, when a subscription is disabled, and
when a notification to a citizen is tried again."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.notification.domain.delivery import (
    NO_ADDRESS,
    NOTIFICATION_RETRY,
    RetryPolicy,
    WebhookAttemptReport,
    after_failure,
    after_success,
    counts_as_attempt,
    disabled_reason,
    disables,
    failing_runs,
    http_error,
    next_notification_attempt,
)
from services.notification.domain.statuses import DeliveryStatus, SubscriptionStatus

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
POLICY = RetryPolicy()


def report(
    subscription_id: str = "s1",
    *,
    status_code: int | None = 500,
    at: datetime = NOW,
    number: int = 1,
    error: str | None = "HTTP 500",
) -> WebhookAttemptReport:
    return WebhookAttemptReport(
        delivery_id=f"d-{subscription_id}-{number}",
        subscription_id=subscription_id,
        event_id="e1",
        number=number,
        attempted_at=at,
        duration_ms=12,
        status_code=status_code,
        error=error,
    )


def test_only_a_2xx_is_a_success_and_a_redirect_says_it_was_not_followed():
    assert http_error(204) is None and http_error(200) is None
    assert http_error(500) == "HTTP 500"
    assert http_error(302) == "HTTP 302 (redirects are not followed)"
    assert report(status_code=299).succeeded
    assert not report(status_code=None, error="timeout: read").succeeded


def test_a_success_marks_the_delivery_delivered_now():
    change = after_success(report(status_code=204, number=3, error=None), NOW)
    assert change.status == DeliveryStatus.DELIVERED
    assert (change.attempt_count, change.last_status_code, change.last_error) == (3, 204, None)
    assert change.delivered_at == NOW and change.next_attempt_at is None
    assert change.values()["status"] == "delivered"


def test_a_failure_within_the_window_is_tried_again_after_the_backoff():
    first_due = NOW - timedelta(hours=1)
    change = after_failure(
        POLICY, report(number=2), first_due=first_due, now=NOW, rng=random.Random(1)
    )
    assert change.status == DeliveryStatus.PENDING and not change.gave_up
    assert change.last_error == "HTTP 500" and change.attempt_count == 2
    # 10 s · 3 for the second failure, ±25 %.
    assert NOW + timedelta(seconds=22.5) <= change.next_attempt_at <= NOW + timedelta(seconds=37.5)


def test_a_failure_after_the_window_gives_up_without_a_next_attempt():
    class NoDice(random.Random):
        def uniform(self, a, b):
            raise AssertionError("no backoff is drawn for a delivery given up")

    change = after_failure(
        POLICY, report(number=12), first_due=NOW - POLICY.window, now=NOW, rng=NoDice()
    )
    assert change.status == DeliveryStatus.FAILED and change.gave_up
    assert change.next_attempt_at is None and change.delivered_at is None


def test_failures_start_a_run_at_the_first_one_and_a_success_ends_it():
    earlier, later = NOW - timedelta(seconds=5), NOW
    runs = failing_runs(
        [
            report("failing", at=earlier),
            report("failing", at=later, number=2),
            report("recovered", at=earlier),
            report("recovered", status_code=200, error=None, at=later, number=2),
            report("relapsed", status_code=200, error=None, at=earlier),
            report("relapsed", at=later, number=2),
        ]
    )
    assert runs.start == {"failing": earlier}
    assert runs.restart == {"recovered": None, "relapsed": later}
    assert sorted(runs.still_failing) == ["failing", "relapsed"]


def test_only_an_active_subscription_failing_for_disable_after_is_disabled():
    since = NOW - POLICY.disable_after
    assert disables(POLICY, SubscriptionStatus.ACTIVE, since, NOW)
    assert not disables(POLICY, SubscriptionStatus.ACTIVE, since + timedelta(seconds=1), NOW)
    assert not disables(POLICY, SubscriptionStatus.ACTIVE, None, NOW)
    assert not disables(POLICY, SubscriptionStatus.DELETED, since, NOW)
    assert disabled_reason(POLICY, since) == (
        f"every delivery failed for 24 hours (since {since.isoformat()})"
    )


def test_a_notification_is_tried_again_until_its_tries_are_spent_or_retrying_cannot_help():
    rng = random.Random(3)
    retry_at = next_notification_attempt(2, permanent=False, max_attempts=6, now=NOW, rng=rng)
    low, high = NOTIFICATION_RETRY.base * 2 * 0.75, NOTIFICATION_RETRY.base * 2 * 1.25
    assert NOW + low <= retry_at <= NOW + high
    assert next_notification_attempt(6, permanent=False, max_attempts=6, now=NOW, rng=rng) is None
    assert next_notification_attempt(1, permanent=True, max_attempts=6, now=NOW, rng=rng) is None


def test_waiting_for_an_address_counts_as_a_try():
    assert counts_as_attempt(NO_ADDRESS)
    assert not counts_as_attempt("sms gateway answered 503")
