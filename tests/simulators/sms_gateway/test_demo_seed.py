"""`sscardctl seed` records the demo people's phones with the carrier stand-in, so each demo
person can register with their own phone."""

from __future__ import annotations

import pytest
import requests

from shared.peers.sms import CarrierCheck
from sscardctl.seed import demo_phones, seed_carrier_subscribers
from tests.support.sms_gateway import SmsGatewayServer


@pytest.fixture
def empty_gateway(tmp_path):
    server = SmsGatewayServer(tmp_path, seeded=False)
    yield server
    server.stop()


def test_the_seed_records_every_demo_persons_phone(empty_gateway):
    carrier = CarrierCheck(empty_gateway.url, timeout=(0.5, 1))
    people = demo_phones()
    assert len(people) == 4
    assert not any(carrier.verify(**person) for person in people)
    assert seed_carrier_subscribers(empty_gateway.url) == len(people)
    assert seed_carrier_subscribers(empty_gateway.url) == len(people)  # again: no harm
    assert all(carrier.verify(**person) for person in people)


def test_an_unreachable_gateway_is_reported_as_a_request_error():
    with pytest.raises(requests.RequestException):
        seed_carrier_subscribers("http://127.0.0.1:9")
