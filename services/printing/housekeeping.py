"""Deleting applicants' photos a retention after their card's activation.

The printing service keeps each applicant's photo so that it can print the card, and print it
again after a failed print, without asking the application service. After the card's
activation the photo serves only a replacement (a lost or damaged card), so it is kept a
retention longer and then deleted; a replacement asked for later needs a new photo
(docs/printing.md):
`PRINTING_PHOTO_RETENTION_DAYS` after this service recorded the activation, the worker deletes
it, a batch of applicants per transaction, and records when (`photo_deleted_at`), so that it
happens once. The rest of the applicant's data stays: the card's holder is shown by it.

The same run deletes any applicant copy of an application that was cancelled or rejected
(closed without a card) and that its handler could not delete: one stored by a retried
submission on another worker at the very moment the tombstone was written.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from services.printing.use_cases.retention import (
    delete_photos_of_cards_activated_before,
    forget_applicants_of_closed_applications,
)
from shared.db.uow import Database, UnitOfWork
from shared.runtime.periodic import in_small_transactions, run_every
from shared.time import utcnow

log = logging.getLogger(__name__)

# Photos deleted per transaction: each is a row rewritten, and on SQLite a transaction holds
# the one write lock the consumers also wait for.
PURGE_BATCH = 100


def purge_activated_photos(
    database: Database,
    *,
    retention: timedelta,
    now: datetime | None = None,
    batch: int = PURGE_BATCH,
) -> int:
    """Deletes the photos of the applicants whose card was activated longer than `retention`
    ago, `batch` applicants per transaction; how many."""
    activated_before = (utcnow() if now is None else now) - retention

    def delete_a_batch(session) -> tuple[int, int]:
        return delete_photos_of_cards_activated_before(
            session, activated_before=activated_before, limit=batch
        )

    return in_small_transactions(database, delete_a_batch, batch=batch)


def forget_closed_applicants(database: Database) -> int:
    """Deletes the applicant copies of applications closed without a card; how many."""
    with database.session_factory() as session, session.begin():
        return forget_applicants_of_closed_applications(session)


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
        forgotten = forget_closed_applicants(database)
        if forgotten:
            log.warning(
                "deleted %d applicant copy(ies) of applications closed without a card that "
                "their cancellation or rejection had missed",
                forgotten,
            )
        removed = purge_activated_photos(database, retention=retention)
        if removed:
            log.info(
                "deleted %d applicant photo(s) of cards activated over %d days ago",
                removed,
                retention.days,
            )

    return run_every(
        interval_seconds,
        purge,
        name="activated-photos-purge",
        description="purging activated cards' photos",
        stop=stop,
    )


def notify_expiries(database: Database, *, today=None) -> int:
    """One run of the daily expiry notices, in a transaction of its own; how many."""
    from services.printing.domain.numbers import issue_date_now
    from services.printing.use_cases.expiry import notify_expiring_cards

    with UnitOfWork(database, "printing") as uow:
        sent = notify_expiring_cards(uow, today=today or issue_date_now())
        uow.commit()
    return sent


def notify_expiries_every(
    interval_seconds: float, database: Database, *, stop: threading.Event | None = None
) -> threading.Thread:
    """The expiry notices, once a day by default (shared.runtime.periodic)."""

    def notify() -> None:
        sent = notify_expiries(database)
        if sent:
            log.info("published %d card expiry notice(s)", sent)

    return run_every(
        interval_seconds,
        notify,
        name="expiry-notices",
        description="publishing card expiry notices",
        stop=stop,
    )
