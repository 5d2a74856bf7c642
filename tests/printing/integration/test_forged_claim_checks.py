"""A forged `application.submitted` on the real broker, its claim checks naming a listener of
the attacker's: the printing worker sends it nothing (no request, so no service token) and
parks the message with the reason."""

from __future__ import annotations

from services.printing.adapters.print_queues import printing_topology
from services.printing.handlers import HANDLERS
from shared.messaging.claim_check import claim_check_url
from shared.messaging.consumer import Outcome, bind_handlers
from shared.messaging.dlq import list_dead_letters
from shared.testing.http import LocalServer, QuietHandler
from shared.testing.running import running_consumer
from shared.testing.waiting import event_waiter, wait_until
from tests.printing.factories import Application
from tests.printing.integration.helpers import cards_of, publish_event


def test_a_forged_submission_naming_a_foreign_url_sends_no_token_and_is_parked(
    printing_on_own_broker, files
):
    settings, deps = printing_on_own_broker
    received: list[dict] = []

    class Listener(QuietHandler):
        def do_GET(self) -> None:
            received.append({"path": self.path, **dict(self.headers)})
            self.send_json(200, {})

    with LocalServer(Listener) as listener:
        application = Application(files)
        forged = application.submitted()
        for reference in forged.data["files"].values():
            reference["url"] = claim_check_url(listener.base_url, reference["sha256"])
        fetches_before = files.fetches

        declare = printing_topology(deps.database)
        with (
            running_consumer(
                settings, deps.database, bind_handlers(HANDLERS, deps), declare=declare
            ) as runner,
            event_waiter(runner, event_id=forged.id) as waiter,
        ):
            publish_event(settings, forged)
            [settled] = waiter.wait(30)
        assert settled.outcome is Outcome.DEAD_LETTER
        assert received == []  # not one request, so no token, left for the listener
        assert files.fetches == fetches_before

    [letter] = wait_until(
        lambda: list_dead_letters(settings, "printing") or None, what="the parked message"
    )
    assert letter.message_id == forged.id
    assert "not the application service" in letter.error
    assert cards_of(deps.database, application.application_id) == []
