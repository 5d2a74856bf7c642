"""Waiting for things to happen, without sleeping for a guessed time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from shared.messaging.consumer import ConsumerRunner, Outcome, Settled

T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


def wait_until(
    condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Polls `condition` until it returns something truthy; for state in another process
    (a row, an HTTP resource) where no in-process signal exists."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


class EventWaiter:
    """Collects what a consumer settled; `wait` returns once a matching event is settled
    (handled and committed, or recognised as a duplicate, or parked)."""

    def __init__(self, predicate: Callable[[Settled], bool], count: int) -> None:
        self.predicate = predicate
        self.count = count
        self.matched: list[Settled] = []
        self._done = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, settled: list[Settled]) -> None:
        with self._lock:
            self.matched.extend(item for item in settled if self.predicate(item))
            if len(self.matched) >= self.count:
                self._done.set()

    def wait(self, timeout: float = 10.0) -> list[Settled]:
        if not self._done.wait(timeout):
            raise WaitTimeout(
                f"only {len(self.matched)} of {self.count} expected events settled in {timeout}s"
            )
        return self.matched


@contextmanager
def event_waiter(
    runner: ConsumerRunner,
    *,
    event_id: str | None = None,
    event_type: str | None = None,
    outcome: Outcome | None = None,
    count: int = 1,
) -> Iterator[EventWaiter]:
    """Register before causing the event, then `wait()`:

    with event_waiter(runner, event_id=event.id) as waiter:
        publish(event)
    waiter.wait()
    """

    def matches(item: Settled) -> bool:
        message_id = item.event.id if item.event else item.delivery.properties.message_id
        return (
            (event_id is None or message_id == event_id)
            and (event_type is None or item.event_type == event_type)
            and (outcome is None or item.outcome is outcome)
        )

    waiter = EventWaiter(matches, count)
    runner.add_listener(waiter)
    try:
        yield waiter
    finally:
        runner.remove_listener(waiter)
