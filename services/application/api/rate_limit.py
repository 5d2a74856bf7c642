"""Per-client rate limits for public endpoints, as a fixed window counted in the service's own
database.

Why the database: gunicorn runs several worker processes (and a deployment may run several
hosts); a counter in each process would let a client through `workers ×` the limit, and
dividing the limit by the worker count only holds if the load balancer spreads one client
evenly. The shared count is one atomic upsert (dao_count_request), so every request is
counted wherever it lands. A busy client's requests are counted a batch at a time
(domain/rate_window.py, whose ClientWindows keeps each process's leases): the processes
together still never admit more than the limit, and a channel server that looks up thousands
of people a minute costs a write per batch instead of per look-up. A fixed window also lets a
client burst up to twice the limit across a window boundary, which is fine for deterring
enumeration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from flask import request

from services.application.deps import Dependencies, current
from shared.errors import TooManyRequests


def rate_limited(scope: str, limit: Callable[[Dependencies], tuple[int, int]]) -> Callable:
    """Counts each request to the route against its client's window; 429 past the limit.
    `limit(deps)` gives (requests per window, window seconds); 0 requests turns the limit
    off."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            deps = current()
            allowed, window = limit(deps)
            if allowed > 0:
                bucket = f"{scope}:{request.remote_addr or 'unknown'}"
                wait = deps.client_windows.admit(bucket, allowed, window, time.time())
                if wait is not None:
                    raise TooManyRequests(
                        "Too many look-ups from your address; try again later.", retry_after=wait
                    )
            return view(*args, **kwargs)

        return wrapper

    return decorator
