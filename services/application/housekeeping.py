"""Sweeping stored files that no row records (rolled-back uploads and released files), and
releasing the files of applications that ended without a card once their retention has passed.
The worker's periodic edge: these jobs open their own transactions; a purge batch is the use
case use_cases/documents.delete_closed_documents.

An upload's bytes are written before the transaction that records them commits; when that
transaction rolls back (a conflict, a crash, a database that went away), the file stays on
disk with no `stored_files` row, unreachable and never deleted: often an ID card image. The
worker sweeps such files once they are older than a grace period, far longer than any
request lasts. A file is renamed aside before it is judged, and put back if a request claimed
the same bytes meanwhile (adapters/storage.py), so a sweep never deletes a file a request is
recording; and a sweep that finds many files without a row deletes nothing (a database that is
not this volume's would make every file look abandoned).

A file whose last document was replaced is released: its row was deleted and a
`released_files` row says so, in the replacement's transaction (dao.dao_release_file). Such
personal data has no purpose any more, so it is swept too, a grace period after its release,
by the same set-aside protocol: the same bytes may have been stored again meanwhile. Its
deletion is this database's committed decision, not an inference from a missing row, so
released files do not count towards the safety valve (a busy day of replaced photos would
otherwise stop every sweep). When the valve refuses, though, nothing is deleted, released files
included: the database is then probably not this volume's, and neither are its decisions.

The images of an application that ended without a card (rejected or cancelled) have no purpose
once a complaint or a reviewer's second look is no longer expected: the retention
(`APPLICATION_CLOSED_FILE_RETENTION_DAYS`) after it closed, the worker deletes its documents
and releases their files, a batch of applications per transaction, and records when on the
application and in its owner's view. The sweep then deletes the files like any other released
ones; bytes another application still uses stay. An activated application keeps its images.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.application.adapters.storage import FileStore
from services.application.dao import (
    dao_forget_released_file,
    dao_list_released_files,
    dao_list_unreferenced_files,
    dao_recorded_files,
    dao_release_file,
    dao_released_files,
)
from services.application.use_cases.documents import delete_closed_documents
from shared.db.uow import Database
from shared.runtime.periodic import in_small_transactions, run_every
from shared.time import utcnow

log = logging.getLogger(__name__)

# Names looked up in one query.
_BATCH = 500
# Rolled-back uploads are a handful among many. A sweep that finds more files without a row
# than this deletes nothing: the database is then not this volume's (a wrong URL, a restore
# from another day), and every file in it would otherwise look abandoned.
_FEW = 10
_MOST_UNRECORDED_SHARE = 0.05
_MOST_UNRECORDED = 10_000
# Applications whose documents are deleted per transaction: each is a few files released and a
# view rendered again, and on SQLite a transaction holds the one write lock the consumers also
# wait for.
PURGE_BATCH = 100


class SweepRefused(Exception):
    """Too many stored files have no row for them to be rolled-back uploads."""


def sweep_unrecorded_files(
    database: Database, store: FileStore, *, grace_seconds: float, now: float | None = None
) -> int:
    """Deletes stored files older than the grace period that no row records, and files
    released longer than the grace period ago that no row records again; how many. Files a row
    records that no document refers to any more are released first (their grace starts now)."""
    cutoff = (time.time() if now is None else now) - grace_seconds
    release_unreferenced_files(database, recorded_before=datetime.fromtimestamp(cutoff, UTC))
    examined, unrecorded = _find_unrecorded(database, store, cutoff)
    if _too_many_unrecorded(examined, len(unrecorded)):
        raise SweepRefused(
            f"{len(unrecorded)} of {examined} stored files have no stored_files row; that is "
            "not a few rolled-back uploads, so nothing was deleted. Is the database this "
            "volume's?"
        )
    removed = store.remove_abandoned_writes(cutoff)
    for sha256 in unrecorded:
        removed += _remove_if_still_unrecorded(database, store, sha256, cutoff)
    for sha256 in _released_before(database, cutoff):
        removed += _remove_released(database, store, sha256, cutoff)
    return removed


def release_unreferenced_files(database: Database, *, recorded_before: datetime) -> int:
    """Releases the files a row records but no document refers to, recorded before
    `recorded_before`; how many. A replacement or a retention purge releases its files itself,
    but keeps one whose release had to give way (a deadlock with a request storing the same
    bytes); this picks such a file up later, through the same careful release."""

    def release_a_batch(session) -> tuple[int, int]:
        names = dao_list_unreferenced_files(session, recorded_before, limit=_BATCH)
        return len(names), sum(dao_release_file(session, sha256) for sha256 in names)

    return in_small_transactions(database, release_a_batch, batch=_BATCH)


def _too_many_unrecorded(examined: int, unrecorded: int) -> bool:
    """The safety valve: more than a few, and more than a small share of, the files looked at
    have no row; rolled-back uploads are never that many."""
    return unrecorded > _FEW and unrecorded > _MOST_UNRECORDED_SHARE * examined


def _find_unrecorded(database: Database, store: FileStore, cutoff: float) -> tuple[int, list]:
    """How many files older than `cutoff` were looked at, and which of them have no row (up
    to a bound: past it, the sweep is refused anyway). Released files are neither: a busy day
    of replaced photos must not look like a database that is not this volume's."""
    examined, unrecorded = 0, []
    for names in store.stored_before(cutoff):
        for start in range(0, len(names), _BATCH):
            batch = names[start : start + _BATCH]
            recorded, released = _accounted_for(database, batch)
            examined += len(batch) - len(released - recorded)
            unrecorded += sorted(set(batch) - recorded - released)
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
    if _claimed_afresh(aside, cutoff) or _recorded(database, [sha256]):
        store.put_back(aside, sha256)
        return 0
    aside.unlink()
    return 1


def _remove_released(database: Database, store: FileStore, sha256: str, cutoff: float) -> int:
    """Deletes a released file unless its bytes were stored again: a row records them once
    more, or a request has just stored them and not committed yet. The release is forgotten
    once that is settled; while the bytes are only claimed it stays, so that they are judged
    again at the next sweep (and deleted, should that request roll back)."""
    aside = store.set_aside(sha256)
    # Looked up once the file is aside: a request that stores the same bytes from now on
    # writes them anew, and one that stored them before has touched the file or committed.
    recorded_again = bool(_recorded(database, [sha256]))
    claimed_afresh = aside is not None and _claimed_afresh(aside, cutoff)
    removed = 0
    if aside is not None:
        if recorded_again or claimed_afresh:
            store.put_back(aside, sha256)
        else:
            aside.unlink()
            removed = 1
    if recorded_again or not claimed_afresh:
        _forget_release(database, sha256, cutoff)
    return removed


def _claimed_afresh(aside: Path, cutoff: float) -> bool:
    """Written or touched by a request since the sweep's cutoff (adapters/storage.py)."""
    return aside.stat().st_mtime >= cutoff


def _recorded(database: Database, sha256s: list[str]) -> set[str]:
    with database.session_factory() as session:
        return dao_recorded_files(session, sha256s)


def _accounted_for(database: Database, sha256s: list[str]) -> tuple[set[str], set[str]]:
    """Which of these files a row records, and which are released. In this order: a release
    committing in between makes a file look both (and so recorded), never neither."""
    with database.session_factory() as session:
        return dao_recorded_files(session, sha256s), dao_released_files(session, sha256s)


def _released_before(database: Database, cutoff: float) -> Iterator[str]:
    """The files released before `cutoff` (Unix time), a batch at a time."""
    released_before = datetime.fromtimestamp(cutoff, UTC)
    after = ""
    while True:
        with database.session_factory() as session:
            names = dao_list_released_files(session, released_before, after=after, limit=_BATCH)
        yield from names
        if len(names) < _BATCH:
            return
        after = names[-1]


def _forget_release(database: Database, sha256: str, cutoff: float) -> None:
    with database.session_factory() as session, session.begin():
        dao_forget_released_file(session, sha256, datetime.fromtimestamp(cutoff, UTC))


def sweep_every(
    interval_seconds: float,
    database: Database,
    store: FileStore,
    *,
    grace_seconds: float,
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Sweeps every `interval_seconds`, on a daemon thread of the worker, until `stop` is
    set (shared.runtime.periodic: the first sweep one interval after the start)."""

    def sweep() -> None:
        try:
            removed = sweep_unrecorded_files(database, store, grace_seconds=grace_seconds)
        except SweepRefused as refused:
            log.error("stored files not swept: %s", refused)
            return
        if removed:
            log.info("removed %d stored file(s) that no row records", removed)

    return run_every(
        interval_seconds,
        sweep,
        name="file-sweep",
        description="sweeping unrecorded files",
        stop=stop,
    )


# -- the retention of closed applications' documents --------------------------------------------


def purge_closed_documents(
    database: Database,
    *,
    retention: timedelta,
    now: datetime | None = None,
    batch: int = PURGE_BATCH,
) -> tuple[int, int]:
    """Deletes the documents of the applications rejected or cancelled longer than `retention`
    ago, `batch` applications per transaction, and releases their files (the sweep deletes
    them after its grace period); how many applications, and how many files released."""
    closed_before = (utcnow() if now is None else now) - retention
    released = 0

    def purge_a_batch(session) -> tuple[int, int]:
        nonlocal released
        purged, files = delete_closed_documents(session, closed_before=closed_before, limit=batch)
        released += files
        return purged, purged

    applications = in_small_transactions(database, purge_a_batch, batch=batch)
    return applications, released


def purge_every(
    interval_seconds: float,
    database: Database,
    *,
    retention: timedelta,
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Purges every `interval_seconds`, on a daemon thread of the worker, until `stop` is
    set (shared.runtime.periodic: the first purge one interval after the start)."""

    def purge() -> None:
        applications, released = purge_closed_documents(database, retention=retention)
        if applications:
            log.info(
                "deleted the documents of %d application(s) rejected or cancelled over %d days"
                " ago; %d file(s) released",
                applications,
                retention.days,
                released,
            )

    return run_every(
        interval_seconds,
        purge,
        name="closed-documents-purge",
        description="purging closed applications' documents",
        stop=stop,
    )
