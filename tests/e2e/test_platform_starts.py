"""`make run`'s promise: every process comes up and reports ready."""

from __future__ import annotations

import pytest
import requests

from shared.config import SERVICES

pytestmark = pytest.mark.e2e


def test_every_service_is_ready_and_documents_itself(stack):
    for service in SERVICES:
        ready = requests.get(stack.url(service) + "/readyz", timeout=5)
        assert ready.status_code == 200, (service, ready.text)
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        spec = requests.get(stack.url(service) + "/openapi.json", timeout=5).json()
        assert spec["openapi"] == "3.1.0"
        metrics = requests.get(stack.url(service) + "/metrics", timeout=5).text
        assert "sscard_outbox_pending" in metrics


def test_the_identity_registry_simulator_answers(stack):
    response = requests.get(
        stack.url("identity_registry") + "/registry/v1/people/110105198503121234", timeout=5
    )
    assert response.status_code == 200
    assert response.json()["name"] == "张伟"


def test_the_sms_gateway_simulator_answers_and_knows_the_demo_phones(stack):
    health = requests.get(stack.url("sms_gateway") + "/healthz", timeout=5)
    assert health.status_code == 200
    verdict = requests.post(
        stack.url("sms_gateway") + "/carrier/v1/verify",
        json={"phone": "13700001001", "name": "张伟", "id_number": "110105198503121234"},
        timeout=5,
    )
    assert verdict.json() == {"match": True}
    texts = requests.get(stack.url("sms_gateway") + "/sms/v1/messages?phone=13700001001", timeout=5)
    assert texts.status_code == 200
    assert isinstance(texts.json()["items"], list)
