"""Housekeeping a worker does beside consuming (sweeping files, purging expired rows): a task
run every so often on a daemon thread of its own, so that it never holds up a message."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shared.db.uow import Database

log = logging.getLogger(__name__)


def run_every(
    interval_seconds: float,
    task: Callable[[], object],
    *,
    name: str,
    description: str,
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Runs `task` every `interval_seconds` on a daemon thread called `name`, until `stop` is
    set. The first run is one interval after the start, not at once: a worker started by
    mistake (against the wrong database, say) should be noticed before it deletes anything.
    A run that fails is logged ("<description> failed") and the next one runs as usual. An
    interval of 0 or less is refused: it would run `task` in a tight loop (a setting of 0
    means "never", which the caller decides by not starting it)."""
    if interval_seconds <= 0:
        raise ValueError(f"{name}: an interval must be positive, not {interval_seconds}")
    stop = stop or threading.Event()

    def run() -> None:
        while not stop.wait(interval_seconds):
            try:
                task()
            except Exception:  # the next run tries again; the worker's consuming goes on
                log.exception("%s failed", description)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def in_small_transactions(
    database: Database, step: Callable[[Session], tuple[int, int]], *, batch: int
) -> int:
    """Runs `step` again and again, each time in a transaction of its own, so that a purge of
    many rows never holds a long one (on SQLite, the write lock the consumers wait for).
    `step(session)` handles up to `batch` rows and returns (how many it looked at, how many it
    changed). The runs stop after one that looked at fewer than `batch` (nothing is left) or
    changed none (what it left would only be found again). Returns how many were changed."""
    changed = 0
    while True:
        with database.session_factory() as session, session.begin():
            looked, done = step(session)
        changed += done
        if looked < batch or done == 0:
            return changed
