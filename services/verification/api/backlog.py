"""The verification backlog as Prometheus figures on `/metrics`, read from the database at
scrape time: how many cases are being checked and how many wait for a reviewer, and how long
the oldest of each has waited.

A case stays `checking` while its `verification.started` waits in the queue, rides the retry
tiers (the identity registry or the application service is down) or sits in the dead-letter
queue; the citizen sees `verifying` all that time. The age of the oldest such case is what to
alert on: the count alone rises with every busy hour."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client.core import GaugeMetricFamily

from services.verification.use_cases.cases import case_backlog
from shared.db.uow import Database

log = logging.getLogger(__name__)


class CaseBacklogCollector:
    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.clock = clock

    def collect(self):
        cases = GaugeMetricFamily(
            "sscard_verification_cases",
            "Cases being checked (checking) or waiting for a reviewer (pending)",
            labels=["status"],
        )
        oldest = GaugeMetricFamily(
            "sscard_verification_oldest_case_age_seconds",
            "How long the oldest case in this status has been open (0 when there is none)",
            labels=["status"],
        )
        try:
            with self.database.session_factory() as session:
                backlog = case_backlog(session)
        except Exception:  # a scrape must not fail because the database does
            log.debug("verification backlog unavailable", exc_info=True)
            return
        now = self.clock()
        for status, (count, opened) in backlog.items():
            cases.add_metric([status], count)
            oldest.add_metric([status], max(0.0, now - opened.timestamp()) if opened else 0.0)
        yield cases
        yield oldest
