"""Five failures for one phone within the window make further attempts wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.registration.domain.throttle import LoginThrottle, LoginThrottled

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
THROTTLE = LoginThrottle(limit=5, window=timedelta(minutes=15))


def minutes_ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_fewer_failures_than_the_limit_may_try_again():
    assert THROTTLE.retry_after(minutes_ago(1, 2, 3, 4), NOW) is None
    THROTTLE.check(minutes_ago(1, 2, 3, 4), NOW)


def test_the_limit_reached_waits_until_the_oldest_failure_leaves_the_window():
    assert THROTTLE.retry_after(minutes_ago(10, 4, 3, 2, 1), NOW) == 5 * 60


def test_failures_outside_the_window_do_not_count():
    assert THROTTLE.retry_after(minutes_ago(16, 20, 4, 3, 2), NOW) is None
    assert THROTTLE.retry_after(minutes_ago(15, 4, 3, 2, 1), NOW) is None


def test_with_more_failures_than_the_limit_the_wait_covers_enough_of_them():
    # Seven inside the window: three must leave before fewer than five remain.
    assert THROTTLE.retry_after(minutes_ago(14, 13, 12, 3, 2, 1, 0.5), NOW) == 3 * 60


def test_the_wait_is_at_least_a_second():
    failures = [NOW - THROTTLE.window + timedelta(milliseconds=10), *minutes_ago(1, 2, 3, 4)]
    assert THROTTLE.retry_after(failures, NOW) == 1


def test_check_raises_a_429_with_retry_after():
    with pytest.raises(LoginThrottled) as caught:
        THROTTLE.check(minutes_ago(1, 2, 3, 4, 5), NOW)
    assert caught.value.status == 429
    assert caught.value.retry_after == 10 * 60
