"""Per-client rate limits for public endpoints, as a fixed window counted in the service's own
database.

Why the database: gunicorn runs several worker processes (and a deployment may run several
hosts); a counter in each process would let a client through `workers ×` the limit, and
dividing the limit by the worker count only holds if the load balancer spreads one client
evenly. One atomic upsert per request counts every request exactly once wherever it lands,
at the price of one small write: a prepared statement, one round trip, not waiting for the
disk (dao_count_request). A fixed window also lets a client burst up to twice the limit
across a window boundary, which is fine for deterring enumeration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from flask import request

from services.application.dao import dao_count_request
from shared.errors import TooManyRequests
from shared.web.app import service_context


def rate_limited(scope: str, limit: Callable[[], tuple[int, int]]) -> Callable:
    """Counts each request to the route against its client's window; 429 past the limit.
    `limit()` gives (requests per window, window seconds); 0 requests turns the limit off."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            allowed, window = limit()
            if allowed > 0:
                _count(f"{scope}:{request.remote_addr or 'unknown'}", allowed, window)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _count(bucket: str, allowed: int, window: int) -> None:
    now = datetime.now(UTC)
    start = int(now.timestamp()) // window * window
    reads = service_context().extras["runtime"].reads
    count = dao_count_request(reads, bucket, datetime.fromtimestamp(start, UTC))
    if count > allowed:
        retry_after = max(1, start + window - int(now.timestamp()))
        raise TooManyRequests(
            "Too many look-ups from your address; try again later.", retry_after=retry_after
        )
