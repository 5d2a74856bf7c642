"""Per-client rate limits for public endpoints, as a fixed window counted in the service's own
database.

Why the database: gunicorn runs several worker processes (and a deployment may run several
hosts); a counter in each process would let a client through `workers ×` the limit, and
dividing the limit by the worker count only holds if the load balancer spreads one client
evenly. The shared count is one atomic upsert (dao_count_request), so every request is
counted wherever it lands. A busy client's requests are counted a batch at a time
(domain/rate_window.py): the processes together still never admit more than the limit, and
a channel server that looks up thousands of people a minute costs a write per batch instead
of per look-up. A fixed window also lets a client burst up to twice the limit across a window
boundary, which is fine for deterring enumeration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import TYPE_CHECKING

from flask import request

from services.application.domain import rate_window
from shared.errors import TooManyRequests
from shared.web.app import service_context

if TYPE_CHECKING:
    from services.application.runtime import Runtime

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
        start = rate_window.window_start(now, window_seconds)
        with self._lock:
            lease = self._leases.get(bucket)
            if lease is not None and lease.window_start == start and lease.left > 0:
                lease.left -= 1
                return None
            last_count = lease.last_count if lease and lease.window_start == start else None
        counted = rate_window.lease_size(allowed, last_count)
        count = self._count_in_store(bucket, datetime.fromtimestamp(start, UTC), counted)
        granted = rate_window.admitted(allowed, counted, count)
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
        return rate_window.retry_after(now, start, window_seconds)

    def held(self, bucket: str) -> int:
        """Requests this process has counted for the client and not yet admitted."""
        with self._lock:
            lease = self._leases.get(bucket)
            return lease.left if lease else 0


def rate_limited(scope: str, limit: Callable[[Runtime], tuple[int, int]]) -> Callable:
    """Counts each request to the route against its client's window; 429 past the limit.
    `limit(runtime)` gives (requests per window, window seconds); 0 requests turns the limit
    off."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            runtime = service_context().extras["runtime"]
            allowed, window = limit(runtime)
            if allowed > 0:
                bucket = f"{scope}:{request.remote_addr or 'unknown'}"
                wait = runtime.client_windows.admit(bucket, allowed, window, time.time())
                if wait is not None:
                    raise TooManyRequests(
                        "Too many look-ups from your address; try again later.", retry_after=wait
                    )
            return view(*args, **kwargs)

        return wrapper

    return decorator
