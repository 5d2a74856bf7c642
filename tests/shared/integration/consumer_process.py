"""A consumer in its own process, for tests that kill or stop it.

    python -m tests.shared.integration.consumer_process <marker-file> <hang|slow>

`hang`: the handler writes its effect, touches the marker, then never returns (waiting to be
killed). `slow`: the handler touches the marker and takes a second before returning.
Settings come from the environment, as in production.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from shared.config import load_settings
from shared.db.uow import Database
from shared.messaging.consumer import run_worker
from tests.shared.integration import effects


def main() -> None:
    marker, mode = Path(sys.argv[1]), sys.argv[2]
    settings = load_settings(effects.SERVICE)
    database = Database(settings.database_url, effects.metadata)

    def handler(uow, event):
        effects.record_effect(uow, event)
        uow.session.flush()
        marker.write_text(event.id)
        threading.Event().wait(3600 if mode == "hang" else 1.0)

    run_worker(settings, database, {effects.EVENT_TYPE: handler})


if __name__ == "__main__":
    main()
