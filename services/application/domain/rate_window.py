"""The arithmetic of a fixed-window rate limit counted in shared storage by several processes,
which count a busy client's requests a few at a time.

Counting every request in the shared count costs a write per request. Instead a process may
count a batch at once (a lease) and admit that many requests from memory. The shared count
then includes every request any process admitted or may still admit, so together they never
admit more than the limit. The price is that a client can be refused a little early, while
another process still holds part of its last lease. Leases are a small share of what is left
below the limit, so they shrink to one request as a client nears it; below `2 × SHARE`
requests a window, every request is counted alone, exactly as without leases.

`ClientWindows` keeps one process's leases; the shared count itself is a function it is given
(dao.dao_count_request), so this module does no I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

# A lease is at most this share of what is left below the limit (1/16)…
SHARE = 16
# …and at most this many requests: what a crashed process can take with it.
MAX_LEASE = 256


def window_start(now: float, window_seconds: int) -> int:
    """The start (Unix seconds) of the window `now` falls in; windows are aligned to the
    epoch, so every process agrees on them."""
    return int(now) // window_seconds * window_seconds


def retry_after(now: float, start: int, window_seconds: int) -> int:
    """Whole seconds until the window that starts at `start` ends (at least one)."""
    return max(1, start + window_seconds - int(now))


def lease_size(allowed: int, last_count: int | None) -> int:
    """How many requests to count at once, given the shared count this process saw when it
    last counted in this window (None: it has not). A client's first request in a window is
    counted alone: most clients make one or two look-ups."""
    if last_count is None:
        return 1
    return max(1, min(MAX_LEASE, (allowed - last_count) // SHARE))


def admitted(allowed: int, counted: int, count: int) -> int:
    """How many of `counted` requests, which took the shared count to `count`, are within
    the limit: those numbered `count - counted + 1` to `count`, up to `allowed`."""
    return max(0, min(counted, allowed - (count - counted)))


# Past this many clients in one window a process forgets its leases (which only refuses their
# holders' next requests a little early, never admits more): a bound on its memory.
MAX_CLIENTS_REMEMBERED = 50_000


@dataclass
class _Lease:
    window_start: int
    left: int  # requests this process has counted and not yet admitted
    last_count: int  # the shared count after this process's last counting


class ClientWindows:
    """One process's view of the shared per-client counts: admits from its leases while they
    last, else counts in the shared store. `count_in_store(bucket, window_start, n)` adds n
    to the client's shared count for the window and returns the new count."""

    def __init__(self, count_in_store: Callable[[str, datetime, int], int]) -> None:
        self._count_in_store = count_in_store
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def admit(self, bucket: str, allowed: int, window_seconds: int, now: float) -> int | None:
        """None if the request is within the client's limit, else the seconds to wait."""
        start = window_start(now, window_seconds)
        with self._lock:
            lease = self._leases.get(bucket)
            if lease is not None and lease.window_start == start and lease.left > 0:
                lease.left -= 1
                return None
            last_count = lease.last_count if lease and lease.window_start == start else None
        counted = lease_size(allowed, last_count)
        count = self._count_in_store(bucket, datetime.fromtimestamp(start, UTC), counted)
        granted = admitted(allowed, counted, count)
        with self._lock:
            lease = self._leases.get(bucket)
            if lease is None or lease.window_start != start:
                if len(self._leases) >= MAX_CLIENTS_REMEMBERED:
                    self._leases.clear()
                lease = self._leases[bucket] = _Lease(start, 0, count)
            # Another thread may have counted for this client meanwhile: keep both leases.
            lease.left += max(0, granted - 1)
            lease.last_count = max(lease.last_count, count)
        if granted:
            return None
        return retry_after(now, start, window_seconds)

    def held(self, bucket: str) -> int:
        """Requests this process has counted for the client and not yet admitted."""
        with self._lock:
            lease = self._leases.get(bucket)
            return lease.left if lease else 0
