"""The bank printing service's consumer process.

Beside consuming, the worker deletes the photos of applicants whose card was activated longer
than the retention ago, on a thread of its own (housekeeping.py).
"""

from __future__ import annotations

import threading

from services.printing import config
from services.printing.adapters.print_queues import printing_topology
from services.printing.deps import build
from services.printing.handlers import HANDLERS
from services.printing.housekeeping import notify_expiries_every, purge_every
from shared.db.uow import Database
from shared.messaging.consumer import bind_handlers, run_worker
from shared.observability.logs import configure_logging


def start_housekeeping(
    options: config.Options, database: Database, *, stop: threading.Event | None = None
) -> list[threading.Thread]:
    """The purge of activated cards' photos on a daemon thread of its own, unless the
    retention or the purge's interval is off (0); and the daily expiry notices, unless their
    interval is 0."""
    threads = []
    if options.photo_retention is not None and options.photo_purge_interval_seconds > 0:
        threads.append(
            purge_every(
                options.photo_purge_interval_seconds,
                database,
                retention=options.photo_retention,
                stop=stop,
            )
        )
    if options.expiry_notice_interval_seconds > 0:
        threads.append(
            notify_expiries_every(options.expiry_notice_interval_seconds, database, stop=stop)
        )
    return threads


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    deps = build(settings, pool_size=2)
    # The signing key exists before the first print message, and web serves the same one.
    deps.print_keys.current()
    housekeeping_stop = threading.Event()
    start_housekeeping(deps.options, deps.database, stop=housekeeping_stop)
    try:
        run_worker(
            settings,
            deps.database,
            bind_handlers(HANDLERS, deps),
            declare=printing_topology(deps.database),
        )
    finally:
        housekeeping_stop.set()


if __name__ == "__main__":
    main()
