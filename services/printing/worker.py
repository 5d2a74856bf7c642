"""The bank printing service's consumer process."""

from __future__ import annotations

from services.printing import config
from services.printing.database import PrintingDatabase
from services.printing.handlers import HANDLERS
from services.printing.print_queues import printing_topology
from shared.logs import configure_logging
from shared.messaging.consumer import run_worker


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    database = PrintingDatabase(settings, pool_size=2)
    # The signing key exists before the first print message, and web serves the same one.
    database.print_keys.current()
    run_worker(settings, database, HANDLERS, declare=printing_topology(database))


if __name__ == "__main__":
    main()
