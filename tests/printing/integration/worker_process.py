"""The printing worker in its own process, for tests that kill it.

    python -m tests.printing.integration.worker_process <marker-file>

It runs the real handlers, except that after handling `verification.approved` — the card
order and its print message written, not yet committed — it touches the marker and waits to be
killed. Settings come from the environment, as in production.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from services.printing import config
from services.printing.adapters.print_queues import printing_topology
from services.printing.deps import build
from services.printing.handlers import HANDLERS, handle_verification_approved
from shared.messaging.consumer import bind_handlers, run_worker


def main() -> None:
    marker = Path(sys.argv[1])
    settings = config.load()
    deps = build(settings, pool_size=2)

    def approved_then_hang(deps, uow, event):
        handle_verification_approved(deps, uow, event)
        uow.session.flush()
        marker.write_text(event.id)
        threading.Event().wait(3600)

    handlers = {**HANDLERS, "verification.approved": approved_then_hang}
    run_worker(
        settings,
        deps.database,
        bind_handlers(handlers, deps),
        declare=printing_topology(deps.database),
    )


if __name__ == "__main__":
    main()
