"""Revoked tokens: the accounts whose tokens must stop working before they expire.

An access token lives 15 minutes and is verified by signature alone, so disabling a staff
account or locking a citizen's would otherwise leave its tokens working until they expire. The
registration service serves `GET /internal/v1/revocations` (service tokens only):
`{items: [{account_id, since}]}`, each a disabled or locked account, or one whose password was
reset, and the moment from which its earlier tokens are refused. Every other service keeps
that list in memory (`RevocationList`) and its token verifier refuses a token of a listed
account issued (`iat`) before `since` (or within its second).

The list is refreshed every `refresh_interval` seconds (30) in the background, when tokens are
being verified: a verification never waits for it, unless the list is older than `max_age`
(60 s; "within a minute") and registration answers. When registration cannot be reached the
list in hand is kept (stale) and asked for again after `retry_interval`: an outage of the
registration service must not turn into 401s or 503s everywhere else. A process that has never
had a list accepts tokens on their signature alone until it gets one, and says so in its log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

import requests

log = logging.getLogger(__name__)

REVOCATIONS_PATH = "/internal/v1/revocations"


class Revocations(Protocol):
    def is_revoked(self, subject: str, issued_at: int) -> bool: ...


def issued_before(issued_at: int, since: float) -> bool:
    """Whether a token issued at `issued_at` (whole seconds, as `iat`) may predate `since`. A
    token issued within the second of the revocation counts as before it: `iat` cannot tell,
    and only a token of an account whose password was reset in that same second is refused
    wrongly (its holder logs in again)."""
    return issued_at <= since


class RevocationList:
    def __init__(
        self,
        url: str,
        headers: Callable[[], Mapping[str, str]],
        *,
        refresh_interval: float = 30.0,
        max_age: float = 60.0,
        retry_interval: float = 5.0,
        timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.headers = headers
        self.refresh_interval = refresh_interval
        self.max_age = max_age
        self.retry_interval = retry_interval
        self.timeout = timeout
        self._since: dict[str, float] = {}
        self._fetched_at: float | None = None
        self._attempted_at = float("-inf")
        self._refreshing = threading.Lock()

    def is_revoked(self, subject: str, issued_at: int) -> bool:
        self._keep_fresh()
        since = self._since.get(subject)
        return since is not None and issued_before(issued_at, since)

    @property
    def age(self) -> float:
        """Seconds since the list in hand was fetched (infinite before the first)."""
        if self._fetched_at is None:
            return float("inf")
        return time.monotonic() - self._fetched_at

    def _keep_fresh(self) -> None:
        age = self.age
        if age < self.refresh_interval:
            return
        if time.monotonic() - self._attempted_at < self.retry_interval:
            return  # failing: keep the list in hand, ask again a little later
        if age < self.max_age:
            if self._refreshing.acquire(blocking=False):
                threading.Thread(
                    target=self._refresh_and_release, name="revocations", daemon=True
                ).start()
            return
        # Too old to answer from: fetch now. One thread fetches; the others keep the list in
        # hand rather than queue behind it.
        if self._refreshing.acquire(blocking=False):
            self._refresh_and_release()

    def _refresh_and_release(self) -> None:
        try:
            self.refresh()
        finally:
            self._refreshing.release()

    def refresh(self) -> bool:
        """Fetches the list; on failure keeps the one in hand. True when it got a new one."""
        self._attempted_at = time.monotonic()
        try:
            response = requests.get(self.url, headers=dict(self.headers()), timeout=self.timeout)
            response.raise_for_status()
            items = response.json()["items"]
            since = {str(item["account_id"]): _timestamp(str(item["since"])) for item in items}
        except Exception as exc:  # any failure keeps the stale list
            stale = "no list yet" if self._fetched_at is None else f"{self.age:.0f} s old"
            log.warning("cannot refresh the revocation list (%s): %s", stale, exc)
            return False
        self._since = since
        self._fetched_at = time.monotonic()
        return True


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
