"""Login throttling: too many wrong passwords for one phone in a sliding window, and further
attempts for that phone wait. A success clears the slate."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.errors import TooManyRequests


class LoginThrottled(TooManyRequests):
    title, slug = "Too many failed logins", "login-throttled"


@dataclass(frozen=True)
class LoginThrottle:
    limit: int = 5
    window: timedelta = timedelta(minutes=15)

    def window_start(self, now: datetime) -> datetime:
        return now - self.window

    def retry_after(self, failures: Iterable[datetime], now: datetime) -> int | None:
        """None when another attempt may be made now; else the whole seconds to wait until the
        failures inside the window have dropped below the limit."""
        recent = sorted(moment for moment in failures if moment > self.window_start(now))
        if len(recent) < self.limit:
            return None
        frees_at = recent[len(recent) - self.limit] + self.window
        return max(1, math.ceil((frees_at - now).total_seconds()))

    def check(self, failures: Iterable[datetime], now: datetime) -> None:
        wait = self.retry_after(failures, now)
        if wait is not None:
            raise LoginThrottled(
                f"Too many failed logins for this phone; try again in {wait} seconds.",
                retry_after=wait,
            )
