"""The arithmetic of a fixed-window rate limit counted in shared storage by several processes,
which count a busy client's requests a few at a time.

Counting every request in the shared count costs a write per request. Instead a process may
count a batch at once (a lease) and admit that many requests from memory. The shared count
then includes every request any process admitted or may still admit, so together they never
admit more than the limit. The price is that a client can be refused a little early, while
another process still holds part of its last lease. Leases are a small share of what is left
below the limit, so they shrink to one request as a client nears it; below `2 × SHARE`
requests a window, every request is counted alone, exactly as without leases.
"""

from __future__ import annotations

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
