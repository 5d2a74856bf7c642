"""Sliding-window limits on requests per client address (code requests, account creations,
log-ins, password resets): at most `limit` in any `window`; past it, how long to wait."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.registration.domain.coded_errors import AddressThrottled


class LimitedAction(StrEnum):
    PHONE_CODE = "phone_code"
    ACCOUNT = "account"
    LOGIN = "login"
    PASSWORD_RESET = "password_reset"  # noqa: S105 — an action's name, not a secret


@dataclass(frozen=True)
class AddressLimit:
    limit: int  # 0: no limit
    window: timedelta = timedelta(hours=1)

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def window_start(self, now: datetime) -> datetime:
        return now - self.window

    def retry_after(self, attempts: Iterable[datetime], now: datetime) -> int | None:
        """None when one more attempt may be made now; else the whole seconds until the
        attempts inside the window have dropped below the limit."""
        recent = sorted(moment for moment in attempts if moment > self.window_start(now))
        if not self.enabled or len(recent) < self.limit:
            return None
        frees_at = recent[len(recent) - self.limit] + self.window
        return max(1, math.ceil((frees_at - now).total_seconds()))

    def check(self, attempts: Iterable[datetime], now: datetime) -> None:
        wait = self.retry_after(attempts, now)
        if wait is not None:
            raise AddressThrottled(
                f"Too many requests from this address; try again in {wait} seconds.",
                retry_after=wait,
            )


_ADDRESS_LABEL = b"sscard registration client address\x00"


def address_key(key: bytes, address: str | None) -> str:
    """What is stored of a client address: a keyed hash, enough to count by, nothing to read."""
    message = _ADDRESS_LABEL + (address or "unknown").encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
