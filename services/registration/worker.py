"""The registration service's consumer process: approved applications bind ID numbers to
accounts and lock the accounts that squatted them (use_cases.account_states)."""

from __future__ import annotations

from services.registration import config
from services.registration.deps import build
from services.registration.handlers import HANDLERS
from shared.messaging.consumer import bind_handlers, run_worker
from shared.observability.logs import configure_logging


def main() -> None:
    settings = config.load()
    configure_logging(
        f"{settings.service}-worker", level=settings.log_level, json_lines=settings.log_json
    )
    deps = build(settings, pool_size=2)
    try:
        run_worker(settings, deps.database, bind_handlers(HANDLERS, deps))
    finally:
        deps.database.dispose()


if __name__ == "__main__":
    main()
