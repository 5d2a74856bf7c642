"""shared/peers/sms.py against the SMS gateway simulator on a real local port: texts handed over,
the carriers' real-name check, and every failure a transient error that names nobody."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.errors import TransientError
from shared.peers.sms import (
    CarrierCheck,
    CarrierCheckUnavailable,
    HttpSmsSender,
    MemorySmsSender,
    SmsSender,
    SmsUnavailable,
    carrier_verify_url,
)
from tests.support.sms_gateway import SmsGatewayServer

ZHANG_WEI = {"phone": "13700001001", "name": "张伟", "id_number": "110105198503121234"}
FAST = (0.5, 0.5)
CLOSED_PORT_URL = "http://127.0.0.1:9"


@pytest.fixture
def gateway(tmp_path):
    server = SmsGatewayServer(tmp_path)
    yield server
    server.stop()


def test_a_text_reaches_the_gateway_and_can_be_read_back(gateway):
    sender: SmsSender = HttpSmsSender(gateway.url, timeout=FAST)
    message_id = sender.send("13800138000", "您的验证码是 482913，5 分钟内有效。")
    assert message_id
    sender.send("13800138000", "您的验证码是 771204，5 分钟内有效。")
    assert gateway.texts_to("13800138000") == [
        "您的验证码是 771204，5 分钟内有效。",
        "您的验证码是 482913，5 分钟内有效。",
    ]


def test_the_bearer_token_is_sent_when_configured(tmp_path):
    gateway = SmsGatewayServer(tmp_path, token="provider-token")
    try:
        with pytest.raises(SmsUnavailable) as refused:
            HttpSmsSender(gateway.url, timeout=FAST).send("13800138000", "code 1")
        assert refused.value.status == 401
        with pytest.raises(SmsUnavailable):
            HttpSmsSender(gateway.url, token="wrong", timeout=FAST).send("13800138000", "code 2")
        HttpSmsSender(gateway.url, token="provider-token", timeout=FAST).send(
            "13800138000", "code 3"
        )
        assert gateway.texts_to("13800138000") == ["code 3"]
    finally:
        gateway.stop()


def test_a_gateway_that_is_down_slow_or_failing_is_a_transient_error(gateway):
    with pytest.raises(SmsUnavailable) as down:
        HttpSmsSender(CLOSED_PORT_URL, timeout=FAST).send("13800138000", "code")
    assert isinstance(down.value, TransientError)
    assert "13800138000" not in str(down.value)

    sender = HttpSmsSender(gateway.url, timeout=FAST)
    gateway.faults(503)
    with pytest.raises(SmsUnavailable) as failing:
        sender.send("13800138000", "code")
    assert failing.value.status == 503
    gateway.faults(None, delay_ms=1200)
    with pytest.raises(SmsUnavailable):
        sender.send("13800138000", "code")
    gateway.faults(None)
    sender.send("13800138000", "code")


def test_a_phone_the_gateway_refuses_is_an_error_not_a_silent_loss(gateway):
    with pytest.raises(SmsUnavailable) as refused:
        HttpSmsSender(gateway.url, timeout=FAST).send("not a phone", "code")
    assert refused.value.status == 422


def test_the_sender_is_configured_by_the_environment(gateway):
    sender = HttpSmsSender.from_environment(
        {"SMS_GATEWAY_URL": gateway.url + "/", "SMS_GATEWAY_TIMEOUT_SECONDS": "2"}
    )
    assert sender.url == gateway.url + "/sms/v1/messages"
    assert sender.timeout == (1.0, 2.0)
    sender.send("13800138000", "from the environment")
    assert gateway.texts_to("13800138000") == ["from the environment"]
    default = HttpSmsSender.from_environment({})
    assert default.url == "http://127.0.0.1:8012/sms/v1/messages"


def test_the_carrier_confirms_only_the_phones_owner(gateway):
    carrier = CarrierCheck(gateway.url, timeout=FAST)
    assert carrier.verify(**ZHANG_WEI) is True
    assert carrier.verify(**{**ZHANG_WEI, "name": "李娜"}) is False
    assert carrier.verify(**{**ZHANG_WEI, "id_number": "440106199007211246"}) is False
    assert carrier.verify(**{**ZHANG_WEI, "phone": "13500000000"}) is False  # no owner
    gateway.record_owner("13500000000", "李娜", "440106199007211246")
    assert carrier.verify("13500000000", "李娜", "440106199007211246") is True


def test_an_impostors_own_phone_does_not_confirm_a_leaked_identity(gateway):
    gateway.record_owner("13911112222", "刘洋", "110105199001011237")  # the impostor's phone
    carrier = CarrierCheck(gateway.url, timeout=FAST)
    assert carrier.verify("13911112222", ZHANG_WEI["name"], ZHANG_WEI["id_number"]) is False


def test_a_carrier_that_is_down_slow_or_failing_is_a_transient_error(gateway):
    with pytest.raises(CarrierCheckUnavailable) as down:
        CarrierCheck(CLOSED_PORT_URL, timeout=FAST).verify(**ZHANG_WEI)
    assert isinstance(down.value, TransientError)
    for value in ZHANG_WEI.values():
        assert value not in str(down.value)

    carrier = CarrierCheck(gateway.url, timeout=FAST)
    gateway.faults(503)
    with pytest.raises(CarrierCheckUnavailable) as failing:
        carrier.verify(**ZHANG_WEI)
    assert failing.value.status == 503
    gateway.faults(None, delay_ms=1200)
    with pytest.raises(CarrierCheckUnavailable):
        carrier.verify(**ZHANG_WEI)
    gateway.faults(None)
    assert carrier.verify(**ZHANG_WEI) is True


class OddCarrier:
    """A carrier answering 200 with whatever body it is given."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.headers: dict[str, str] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.headers = dict(self.headers)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"match": "true"}',
        b'{"match": 1}',
        b'{"match": null}',
        b"[true]",
        b"true",
        b"<html>",
    ],
)
def test_only_an_explicit_match_true_is_a_match(body):
    carrier_service = OddCarrier()
    try:
        carrier_service.body = body
        with pytest.raises(CarrierCheckUnavailable):
            CarrierCheck(carrier_service.url, timeout=FAST).verify(**ZHANG_WEI)
        carrier_service.body = json.dumps({"match": True}).encode()
        assert CarrierCheck(carrier_service.url, timeout=FAST).verify(**ZHANG_WEI) is True
    finally:
        carrier_service.stop()


def test_the_carrier_check_is_configured_by_the_environment():
    carrier_service = OddCarrier()
    try:
        carrier_service.body = b'{"match": false}'
        shared_gateway = CarrierCheck.from_environment(
            {"SMS_GATEWAY_URL": carrier_service.url, "SMS_GATEWAY_TOKEN": "gateway-token"}
        )
        assert shared_gateway.url == carrier_service.url + "/carrier/v1/verify"
        assert shared_gateway.verify(**ZHANG_WEI) is False
        assert carrier_service.headers["Authorization"] == "Bearer gateway-token"

        own_service = CarrierCheck.from_environment(
            {
                "SMS_GATEWAY_URL": "http://sms.invalid",
                "SMS_GATEWAY_TOKEN": "gateway-token",
                "CARRIER_VERIFY_URL": carrier_service.url,
            }
        )
        own_service.verify(**ZHANG_WEI)
        # The gateway's token is never sent to another host.
        assert "Authorization" not in carrier_service.headers

        CarrierCheck.from_environment(
            {"CARRIER_VERIFY_URL": carrier_service.url, "CARRIER_VERIFY_TOKEN": "carrier-token"}
        ).verify(**ZHANG_WEI)
        assert carrier_service.headers["Authorization"] == "Bearer carrier-token"
    finally:
        carrier_service.stop()
    assert carrier_verify_url({}) == "http://127.0.0.1:8012"
    assert carrier_verify_url({"SMS_GATEWAY_URL": "http://gw:1/"}) == "http://gw:1"


def test_the_memory_sender_keeps_texts_for_unit_tests():
    sender: SmsSender = MemorySmsSender()
    sender.send("13800138000", "one")
    sender.send("13900000000", "other")
    sender.send("13800138000", "two")
    assert sender.texts_to("13800138000") == ["two", "one"]
