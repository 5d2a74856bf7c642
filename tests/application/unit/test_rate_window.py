"""Rate-limit leases: processes that count a busy client's requests in batches still admit no
more than the limit together, and a client near its limit is counted one request at a time."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from services.application.domain.rate_window import (
    MAX_LEASE,
    SHARE,
    ClientWindows,
    admitted,
    lease_size,
    retry_after,
    window_start,
)

WINDOW = 60
NOW = 1_764_600_000.5  # inside the window that starts at 1_764_599_980


class SharedCounts:
    """The database's part, in memory: one count per (client, window)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, datetime], int] = {}
        self.writes = 0

    def __call__(self, bucket: str, start: datetime, counted: int) -> int:
        self.writes += 1
        key = (bucket, start)
        self.counts[key] = self.counts.get(key, 0) + counted
        return self.counts[key]


def test_windows_are_aligned_and_retry_after_runs_to_the_end_of_the_window():
    start = window_start(NOW, WINDOW)
    assert start % WINDOW == 0 and start <= NOW < start + WINDOW
    assert retry_after(NOW, start, WINDOW) == start + WINDOW - int(NOW)
    assert retry_after(start + WINDOW - 0.1, start, WINDOW) == 1


def test_a_first_request_is_counted_alone_then_leases_are_a_share_of_what_is_left():
    assert lease_size(10_000, None) == 1
    assert lease_size(2_000, 1) == (2_000 - 1) // SHARE
    assert lease_size(10**12, 1) == MAX_LEASE
    # Near the limit, and under small limits, every request is counted alone.
    assert lease_size(10_000, 9_990) == 1
    assert lease_size(2 * SHARE - 1, 1) == 1
    assert lease_size(30, 29) == 1
    assert lease_size(30, 45) == 1  # past the limit: still counted, one at a time


@pytest.mark.parametrize(
    ("allowed", "counted", "count", "expected"),
    [(10, 1, 1, 1), (10, 4, 8, 4), (10, 4, 12, 2), (10, 4, 14, 0), (10, 1, 11, 0), (3, 1, 3, 1)],
)
def test_only_requests_numbered_up_to_the_limit_are_admitted(allowed, counted, count, expected):
    assert admitted(allowed, counted, count) == expected


def test_a_busy_client_costs_a_write_per_lease_not_per_request():
    shared = SharedCounts()
    windows = ClientWindows(shared)
    for _ in range(10_000):
        assert windows.admit("progress:192.0.2.1", 10**9, WINDOW, NOW) is None
    assert shared.writes < 10_000 / (MAX_LEASE / 2)
    # Every admitted request is in the shared count; the rest of the count is still held.
    (count,) = shared.counts.values()
    assert count == 10_000 + windows.held("progress:192.0.2.1")


def test_a_client_with_a_small_limit_is_counted_exactly():
    shared = SharedCounts()
    windows = ClientWindows(shared)
    answers = [windows.admit("progress:192.0.2.1", 30, WINDOW, NOW) for _ in range(31)]
    assert answers[:30] == [None] * 30
    assert answers[30] == retry_after(NOW, window_start(NOW, WINDOW), WINDOW)
    assert shared.writes == 31 and windows.held("progress:192.0.2.1") == 0


@pytest.mark.parametrize("seed", range(5))
def test_processes_sharing_a_count_never_admit_more_than_the_limit(seed):
    rng = random.Random(seed)
    shared = SharedCounts()
    processes = [ClientWindows(shared) for _ in range(3)]
    allowed, bucket = 5_000, "progress:192.0.2.1"
    answers = [rng.choice(processes).admit(bucket, allowed, WINDOW, NOW) for _ in range(8_000)]
    let_through = answers.count(None)
    held = sum(process.held(bucket) for process in processes)
    # Each request counted was either admitted or is still held by a process, and the holders
    # refuse only a handful early: leases shrink to one request near the limit.
    assert let_through + held == allowed
    assert held <= 3 * 2
    assert all(answer is None for answer in answers[:4_900])


def test_a_new_window_starts_from_nothing_and_forgets_what_was_held():
    shared = SharedCounts()
    windows = ClientWindows(shared)
    bucket = "progress:192.0.2.1"
    for _ in range(50):
        windows.admit(bucket, 10**6, WINDOW, NOW)
    assert windows.held(bucket) > 0
    later = NOW + WINDOW
    assert windows.admit(bucket, 10**6, WINDOW, later) is None
    new_window = datetime.fromtimestamp(window_start(later, WINDOW), UTC)
    assert shared.counts[(bucket, new_window)] == 1
    assert windows.held(bucket) == 0
