"""The notification service's consumer process."""

from __future__ import annotations

from services.notification import config
from services.notification.deps import build
from services.notification.handlers import HANDLERS
from shared.messaging.consumer import bind_handlers, run_worker
from shared.observability.logs import configure_logging


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    deps = build(settings, pool_size=2)
    run_worker(settings, deps.database, bind_handlers(HANDLERS, deps))


if __name__ == "__main__":
    main()
