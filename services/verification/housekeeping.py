"""Deleting face analyses past their retention.

An analysis holds the main face's encoding, a biometric template. It is kept to spare the
photo on file, and re-verifications, a second analysis; once the retention
(`VERIFICATION_FACE_CACHE_RETENTION_DAYS`) has passed it is no longer reused (the image is
analysed again, with the same result) and has no purpose left, so the worker deletes it, in
small transactions that never hold up a consumer for long, and forgets it in its own memo.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from services.verification.adapters.analysis_memo import AnalysisMemo
from services.verification.dao import dao_delete_expired_face_analyses
from shared.db.uow import Database
from shared.runtime.periodic import in_small_transactions, run_every
from shared.time import utcnow

log = logging.getLogger(__name__)

# Rows deleted per transaction: each holds a 128-d encoding, and on SQLite a transaction
# holds the one write lock the consumers also wait for.
PURGE_BATCH = 500


def purge_expired_face_analyses(
    database: Database,
    *,
    retention: timedelta,
    now: datetime | None = None,
    batch: int = PURGE_BATCH,
) -> int:
    """Deletes the analyses made longer than `retention` ago, `batch` rows per transaction;
    how many."""
    made_before = (utcnow() if now is None else now) - retention

    def delete_a_batch(session) -> tuple[int, int]:
        deleted = dao_delete_expired_face_analyses(session, made_before, limit=batch)
        return deleted, deleted

    return in_small_transactions(database, delete_a_batch, batch=batch)


def purge_every(
    interval_seconds: float,
    database: Database,
    memo: AnalysisMemo,
    *,
    retention: timedelta,
    stop: threading.Event | None = None,
) -> threading.Thread:
    """Purges every `interval_seconds`, on a daemon thread of the worker, until `stop` is
    set (shared.runtime.periodic: the first purge one interval after the start)."""

    def purge() -> None:
        memo.forget_expired()
        removed = purge_expired_face_analyses(database, retention=retention)
        if removed:
            log.info("deleted %d face analyses older than %d days", removed, retention.days)

    return run_every(
        interval_seconds,
        purge,
        name="face-analysis-purge",
        description="purging expired face analyses",
        stop=stop,
    )
