"""The bank printing service's consumer process."""

from __future__ import annotations

from services.printing import config, models
from services.printing.handlers import HANDLERS
from shared.logs import configure_logging
from shared.messaging.consumer import run_worker
from shared.uow import Database


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    run_worker(settings, Database(settings.database_url, models.metadata, pool_size=2), HANDLERS)


if __name__ == "__main__":
    main()
