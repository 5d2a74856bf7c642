"""Each partner bank's durable `print.<bank_code>` queue on `sscard.print`.

The relay publishes print messages as `mandatory`: one that no queue takes stays in the outbox
and is retried. So the queue of a bank must exist before its first card is ordered: it is
declared when a bank is created (web, seeding) and, for every known bank, whenever the
printing worker (re)connects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pika

from services.printing.dao import dao_list_bank_codes
from shared.config import Settings
from shared.db.uow import Database
from shared.errors import TransientError
from shared.messaging.connection import CONNECTION_ERRORS, connection_parameters
from shared.messaging.topology import declare_exchanges, declare_print_queue, declare_topology


class PrintQueues:
    """Declares banks' print queues over a short connection of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def declare(self, bank_codes: Iterable[str]) -> None:
        """Idempotent; TransientError when the broker cannot be reached."""
        codes = list(bank_codes)
        if not codes:
            return
        settings = self.settings
        try:
            connection = pika.BlockingConnection(connection_parameters(settings, "print-queues"))
            try:
                channel = connection.channel()
                declare_exchanges(channel)
                for code in codes:
                    declare_print_queue(channel, settings, code)
            finally:
                if connection.is_open:
                    connection.close()
        except CONNECTION_ERRORS as exc:
            raise TransientError(f"cannot declare print queues: {exc}") from exc


def printing_topology(database: Database) -> Callable[[object, Settings], None]:
    """The worker's `declare`: the shared topology plus a print queue for every known bank."""

    def declare(channel, settings: Settings) -> None:
        declare_topology(channel, settings)
        with database.session_factory() as session:
            codes = dao_list_bank_codes(session)
        for code in codes:
            declare_print_queue(channel, settings, code)

    return declare
