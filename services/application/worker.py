"""The application service's consumer process.

Cold start: every sscard process declares every consumer queue before it publishes, so outlet
events published after any process started wait in `application.events`. For outlets
published before that (a fresh broker behind a printing service that has run for months), a
worker that finds its outlet table empty asks, through the outbox, for every outlet again
(`outlet.snapshot_requested`); the printing service answers by republishing them.

Beside consuming, the worker sweeps stored files that no row records: rolled-back uploads, and
files released when a draft's photo or ID card image was replaced or when the retention of a
rejected or cancelled application's images passed; it deletes those applications' documents at
the sweep's interval, on a thread of its own (housekeeping.py).
"""

from __future__ import annotations

import logging
import threading

from services.application import config
from services.application.adapters.storage import FileStore
from services.application.deps import Dependencies, build
from services.application.handlers import HANDLERS
from services.application.housekeeping import purge_every, sweep_every
from services.application.use_cases.outlets import request_outlet_snapshot_if_none_known
from shared.db.uow import Database, UnitOfWork
from shared.messaging.consumer import bind_handlers, run_worker
from shared.observability.logs import configure_logging

log = logging.getLogger(__name__)


def request_outlet_snapshot_if_empty(deps: Dependencies) -> bool:
    """Adds `outlet.snapshot_requested` to the outbox when no outlet is known; True if so."""
    with UnitOfWork(deps.database, deps.settings.service) as uow:
        if not request_outlet_snapshot_if_none_known(uow, deps):
            return False
        uow.commit()
    log.info("no outlets known yet; asked the printing service for all of them")
    return True


def start_housekeeping(
    options: config.Options,
    database: Database,
    files: FileStore,
    *,
    stop: threading.Event | None = None,
) -> list[threading.Thread]:
    """The file sweep and, unless the retention is off, the purge of closed applications'
    documents, each on a daemon thread of its own, at the sweep's interval (0: neither; purged
    documents' files would not be deleted anyway)."""
    interval = options.file_sweep_interval_seconds
    if interval <= 0:
        return []
    threads = [
        sweep_every(
            interval, database, files, grace_seconds=options.file_sweep_grace_seconds, stop=stop
        )
    ]
    if options.closed_file_retention is not None:
        threads.append(
            purge_every(interval, database, retention=options.closed_file_retention, stop=stop)
        )
    return threads


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    deps = build(settings, pool_size=2)
    request_outlet_snapshot_if_empty(deps)
    start_housekeeping(deps.options, deps.database, deps.files)
    run_worker(settings, deps.database, bind_handlers(HANDLERS, deps))


if __name__ == "__main__":
    main()
