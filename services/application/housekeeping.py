"""Sweeping stored files that no transaction recorded.

An upload's bytes are written before the transaction that records them commits; when that
transaction rolls back (a conflict, a crash, a database that went away), the file stays on
disk with no `stored_files` row, unreachable and never deleted: often an ID card image. The
worker sweeps such files once they are older than a grace period, far longer than any
request lasts. A file is renamed aside before it is judged, and put back if a request claimed
the same bytes meanwhile (storage.py), so a sweep never deletes a file a request is recording;
and a sweep that finds many files without a row deletes nothing (a database that is not this
volume's would make every file look abandoned).
"""

from __future__ import annotations

import logging
import threading
import time

from services.application.dao import dao_recorded_files
from services.application.storage import FileStore
from shared.uow import Database

log = logging.getLogger(__name__)

# Names looked up in one query.
_BATCH = 500
# Rolled-back uploads are a handful among many. A sweep that finds more files without a row
# than this deletes nothing: the database is then not this volume's (a wrong URL, a restore
# from another day), and every file in it would otherwise look abandoned.
_FEW = 10
_MOST_UNRECORDED_SHARE = 0.05
_MOST_UNRECORDED = 10_000


class SweepRefused(Exception):
    """Too many stored files have no row for them to be rolled-back uploads."""


def sweep_unrecorded_files(
    database: Database, store: FileStore, *, grace_seconds: float, now: float | None = None
) -> int:
    """Deletes stored files older than the grace period that no row records; how many."""
    cutoff = (time.time() if now is None else now) - grace_seconds
    examined, unrecorded = _find_unrecorded(database, store, cutoff)
    if len(unrecorded) > _FEW and len(unrecorded) > _MOST_UNRECORDED_SHARE * examined:
        raise SweepRefused(
            f"{len(unrecorded)} of {examined} stored files have no stored_files row; that is "
            "not a few rolled-back uploads, so nothing was deleted. Is the database this "
            "volume's?"
        )
    removed = store.remove_abandoned_writes(cutoff)
    for sha256 in unrecorded:
        removed += _remove_if_still_unrecorded(database, store, sha256, cutoff)
    return removed


def _find_unrecorded(database: Database, store: FileStore, cutoff: float) -> tuple[int, list]:
    """How many files older than `cutoff` were looked at, and which of them have no row (up
    to a bound: past it, the sweep is refused anyway)."""
    examined, unrecorded = 0, []
    for names in store.stored_before(cutoff):
        for start in range(0, len(names), _BATCH):
            batch = names[start : start + _BATCH]
            examined += len(batch)
            unrecorded += sorted(set(batch) - _recorded(database, batch))
            if len(unrecorded) > _MOST_UNRECORDED:
                return examined, unrecorded
    return examined, unrecorded


def _remove_if_still_unrecorded(
    database: Database, store: FileStore, sha256: str, cutoff: float
) -> int:
    aside = store.set_aside(sha256)
    if aside is None:
        return 0
    # Claimed again just before it was set aside, or recorded since it was first looked up.
    if aside.stat().st_mtime >= cutoff or _recorded(database, [sha256]):
        store.put_back(aside, sha256)
        return 0
    aside.unlink()
    return 1


def _recorded(database: Database, sha256s: list[str]) -> set[str]:
    with database.session_factory() as session:
        return dao_recorded_files(session, sha256s)


def sweep_every(
    interval_seconds: float,
    database: Database,
    store: FileStore,
    *,
    grace_seconds: float,
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Sweeps every `interval_seconds`, on a daemon thread of the worker, until `stop` is
    set."""
    stop = stop or threading.Event()

    def run() -> None:
        # Not at once: a worker started against the wrong database should be noticed first.
        while not stop.wait(interval_seconds):
            try:
                removed = sweep_unrecorded_files(database, store, grace_seconds=grace_seconds)
                if removed:
                    log.info("removed %d stored file(s) that no transaction recorded", removed)
            except SweepRefused as refused:
                log.error("stored files not swept: %s", refused)
            except Exception:  # the next sweep tries again; the worker's consuming goes on
                log.exception("sweeping unrecorded files failed")

    thread = threading.Thread(target=run, name="file-sweep", daemon=True)
    thread.start()
    return thread
