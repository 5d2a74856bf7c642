"""The grants and the origin check, without a broker (the broker's own refusals are in
tests/shared/integration/test_broker_permissions.py)."""

from __future__ import annotations

import re

import pytest

from shared.messaging.broker_admin import password_hash, with_credentials
from shared.messaging.events import REGISTRY
from shared.messaging.permissions import (
    InvalidBankCode,
    bank_grant,
    origin_problem,
    service_grant,
)


def _topic(grant, exchange):
    return next(topic for topic in grant.topics if topic.exchange == exchange)


def test_each_service_may_publish_exactly_the_types_it_owns():
    for event_type, contract in REGISTRY.items():
        if contract.exchange != "sscard.events":
            continue
        for service in ("registration", "application", "verification", "printing", "notification"):
            allowed = re.match(_topic(service_grant(service), "sscard.events").write, event_type)
            assert bool(allowed) == (contract.producer == service), (service, event_type)


def test_a_bank_publishes_only_its_own_reports_and_reads_only_its_queue():
    grant = bank_grant("ICBC")
    feedback = _topic(grant, "sscard.bank-feedback").write
    assert re.match(feedback, "bank.ICBC.printed")
    # Its confirmations of the block, unblock and cancel commands too.
    for status in ("blocked", "unblocked", "cancelled"):
        assert re.match(feedback, f"bank.ICBC.{status}"), status
    for key in (
        "bank.CCB.blocked",
        "bank.ICBC.lost",
        "bank.CCB.printed",
        "bank.ICBC.printed.x",
        "bank.ICBC.#",
        "bank.ICBCX.printed",
    ):
        assert not re.match(feedback, key), key
    assert re.match(grant.read, "print.ICBC") and not re.match(grant.read, "print.ICBCX")
    assert grant.configure == "^$"
    assert not re.match(grant.write, "sscard.events")
    with pytest.raises(InvalidBankCode):
        bank_grant("ICBC|.*")


@pytest.mark.parametrize(
    ("event_type", "source", "routing_key", "problem"),
    [
        ("verification.approved", "/sscard/verification", "verification.approved", None),
        ("verification.approved", "/sscard/application", "verification.approved", "not the owner"),
        ("verification.approved", "/sscard/verification", "outlet.upserted", "routing key"),
        ("bank.card_status", "/banks/ICBC", "bank.ICBC.printed", None),
        ("bank.card_status", "/banks/CCB", "bank.ICBC.printed", "not the bank"),
        ("bank.card_status", "/banks/ICBC", "printing.events", "not bank.<bank_code>"),
    ],
)
def test_the_origin_check(event_type, source, routing_key, problem):
    found = origin_problem(event_type, source, routing_key)
    assert (found is None) if problem is None else (problem in found)


def test_passwords_are_hashed_the_way_rabbitmq_does():
    assert password_hash("pw", salt=b"abcd") == "YWJjZCUocPu+lAjLXU4Se7RFyins8lJaz+A5gv/b19IpfqUF"
    assert (
        with_credentials("amqp://guest:guest@127.0.0.1:5672/v%2Fx", "bank-A1", "p@ss/")
        == "amqp://bank-A1:p%40ss%2F@127.0.0.1:5672/v%2Fx"
    )
