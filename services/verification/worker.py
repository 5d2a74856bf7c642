"""The verification service's consumer process.

Face work dominates a verification, so the worker is built around keeping both cores busy:
- a pool of face-analysis processes (`VERIFICATION_FACE_PROCESSES`, default 2), whose models
  load once at start; dlib holds the GIL, so only processes run two analyses at once;
- several consumers in this process (`VERIFICATION_CONSUMERS`, default 2), each with its own
  broker connection and handler thread, so while one application waits for its faces another
  one's are being analysed — otherwise an applicant whose photo on file is already analysed
  (one image left) would leave half of the pool idle;
- small batches (`VERIFICATION_CONSUMER_BATCH_SIZE`, default 8): a batch is one database
  transaction, which should not stay open for long.

Beside consuming, the worker deletes face analyses past their retention, on a thread of its
own (housekeeping.py).
"""

from __future__ import annotations

import logging
import signal
import threading

from services.verification import config
from services.verification.deps import build
from services.verification.handlers import HANDLERS
from services.verification.housekeeping import purge_every
from shared.messaging.consumer import ConsumerRunner, bind_handlers
from shared.observability.logs import configure_logging

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 8
DEFAULT_CONSUMERS = 2


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    consumers = max(1, settings.get_int("CONSUMERS", DEFAULT_CONSUMERS))
    deps = build(settings, pool_size=consumers + 1)
    deps.build_adapters()
    database = deps.database
    handlers = bind_handlers(HANDLERS, deps)
    runners = [
        ConsumerRunner(
            settings,
            database,
            handlers,
            batch_size=settings.get_int("CONSUMER_BATCH_SIZE", DEFAULT_BATCH_SIZE),
        )
        for _ in range(consumers)
    ]

    housekeeping_stop = threading.Event()
    if deps.face_cache.purge_interval_seconds > 0:
        purge_every(
            deps.face_cache.purge_interval_seconds,
            database,
            deps.memo,
            retention=deps.face_cache.retention,
            stop=housekeeping_stop,
        )

    def stop(*_args) -> None:
        housekeeping_stop.set()
        for runner in runners:
            runner.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        deps.analyser.warm_up()
        threads = [
            threading.Thread(target=runner.run, name=f"verification-consumer-{index}")
            for index, runner in enumerate(runners)
        ]
        for thread in threads:
            thread.start()
        # Joining with a timeout keeps the main thread able to take signals.
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.5)
    finally:
        deps.close()
        database.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    main()
