"""The verification service's consumer process.

Batches are small here (default 8, `VERIFICATION_CONSUMER_BATCH_SIZE`): each application costs
file fetches and face work, and a batch is one database transaction, which should not stay
open for many seconds. Face work runs in a pool of processes (`VERIFICATION_FACE_PROCESSES`,
default 2) whose models load once when the worker starts.
"""

from __future__ import annotations

from services.verification import config, dependencies, models
from services.verification.handlers import HANDLERS
from shared.logs import configure_logging
from shared.messaging.consumer import run_worker
from shared.uow import Database

DEFAULT_BATCH_SIZE = 8


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    deps = dependencies.Dependencies.from_settings(settings)
    dependencies.install(deps)
    deps.analyser.warm_up()
    try:
        run_worker(
            settings,
            Database(settings.database_url, models.metadata, pool_size=2),
            HANDLERS,
            batch_size=settings.get_int("CONSUMER_BATCH_SIZE", DEFAULT_BATCH_SIZE),
        )
    finally:
        deps.close()


if __name__ == "__main__":
    main()
