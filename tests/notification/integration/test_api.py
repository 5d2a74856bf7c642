"""The HTTP resources: channel bindings, the notification list and webhook subscriptions —
who may do what, and clear problems for bad input that change nothing."""

from __future__ import annotations

import uuid

from services.notification.models import WebhookSubscription
from tests.notification.factories import Journey, bank_integrator
from tests.notification.integration.conftest import make_service

PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


# -- channels --------------------------------------------------------------------------------
def test_a_citizen_binds_channels_and_sees_them_masked(service, token_authority):
    account = str(uuid.uuid4())
    me = token_authority.citizen(account)
    client = service.client
    for channel, address in (
        ("sms", "+86 139 0000 1111"),
        ("email", "lina@example.com"),
        ("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ("alipay", "2088102146225135"),
    ):
        assert (
            client.put(
                f"/api/v1/channels/{channel}", json={"address": address}, headers=me
            ).status_code
            == 204
        )
    listed = client.get("/api/v1/channels", headers=me).get_json()["items"]
    assert {i["channel"]: i["address_masked"] for i in listed} == {
        "alipay": "2088***5135",
        "email": "l***@example.com",
        "sms": "139****1111",
        "wechat": "oUpF***eS6o",
    }
    assert all(i["source"] == "citizen" and i["locale"] == "zh-CN" for i in listed)
    assert client.get(
        "/api/v1/channels", headers=token_authority.citizen(str(uuid.uuid4()))
    ).get_json() == {"items": []}

    assert client.delete("/api/v1/channels/wechat", headers=me).status_code == 204
    problem(client.delete("/api/v1/channels/wechat", headers=me), 404)


def test_a_registration_phone_never_overrides_the_citizens_own_choice(service, token_authority):
    journey = Journey()
    me = token_authority.citizen(journey.account_id)
    service.client.put(
        "/api/v1/channels/sms", json={"address": "13900001111", "locale": "en"}, headers=me
    )
    service.handle(journey.account_registered())  # late, with the registration phone
    [sms] = service.client.get("/api/v1/channels", headers=me).get_json()["items"]
    assert (sms["address_masked"], sms["source"], sms["locale"]) == ("139****1111", "citizen", "en")


BAD_BINDINGS = [
    ("sms", {"address": "12345"}, "address"),
    ("email", {"address": "nobody"}, "address"),
    ("wechat", {"address": "x"}, "address"),
    ("alipay", {"address": "not an id!"}, "address"),
    ("sms", {}, "address"),
    ("sms", {"address": "13812345678", "locale": "fr"}, "locale"),
    ("sms", {"address": "13812345678", "extra": 1}, "extra"),
]


def test_bad_bindings_are_422_problems_that_change_nothing(service, token_authority):
    me = token_authority.citizen(str(uuid.uuid4()))
    for channel, body, field in BAD_BINDINGS:
        answer = problem(
            service.client.put(f"/api/v1/channels/{channel}", json=body, headers=me), 422
        )
        assert field in answer["errors"], (channel, body)
    assert service.client.get("/api/v1/channels", headers=me).get_json() == {"items": []}


def test_channel_requests_need_a_person_and_a_known_channel(service, token_authority):
    client = service.client
    problem(client.put("/api/v1/channels/sms", json={"address": "13812345678"}), 401)
    problem(
        client.put(
            "/api/v1/channels/sms",
            json={"address": "13812345678"},
            headers=token_authority.service("printing"),
        ),
        403,
    )
    problem(
        client.put(
            "/api/v1/channels/fax",
            json={"address": "1"},
            headers=token_authority.citizen(str(uuid.uuid4())),
        ),
        404,
    )
    problem(
        client.put(
            "/api/v1/channels/sms",
            data="address=1",
            content_type="application/x-www-form-urlencoded",
            headers=token_authority.citizen(str(uuid.uuid4())),
        ),
        415,
    )
    problem(client.get("/api/v1/notifications"), 401)
    problem(
        client.get(
            "/api/v1/notifications?limit=0", headers=token_authority.citizen(str(uuid.uuid4()))
        ),
        422,
    )


# -- subscriptions ---------------------------------------------------------------------------
def test_subscriptions_are_for_integrators_and_admins_and_owners_see_only_theirs(
    service, token_authority
):
    client = service.client
    alice, bob = bank_integrator(token_authority), bank_integrator(token_authority)
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["card.*"]}
    problem(
        client.post(
            "/api/v1/subscriptions", json=body, headers=token_authority.citizen(str(uuid.uuid4()))
        ),
        403,
    )
    problem(client.post("/api/v1/subscriptions", json=body), 401)

    created = service.subscribe(alice, **body)
    assert set(created) >= {
        "subscription_id",
        "secret",
        "url",
        "event_types",
        "status",
        "created_at",
    }
    assert created["status"] == "active" and created["secret"].startswith("whsec_")
    sid = created["subscription_id"]
    shown = client.get(f"/api/v1/subscriptions/{sid}", headers=alice).get_json()
    assert "secret" not in shown and shown["event_types"] == ["card.*"]
    with service.database.session_factory() as session:
        stored = session.get(WebhookSubscription, sid).secret_encrypted
    assert created["secret"] not in stored  # kept encrypted

    for path in (f"/api/v1/subscriptions/{sid}", f"/api/v1/subscriptions/{sid}/deliveries"):
        problem(client.get(path, headers=bob), 404)
    problem(client.delete(f"/api/v1/subscriptions/{sid}", headers=bob), 404)
    problem(client.get("/api/v1/subscriptions/not-a-uuid", headers=alice), 404)
    assert client.get("/api/v1/subscriptions", headers=bob).get_json() == {"items": []}
    assert [
        s["subscription_id"]
        for s in client.get("/api/v1/subscriptions", headers=alice).get_json()["items"]
    ] == [sid]
    assert (
        client.get(f"/api/v1/subscriptions/{sid}", headers=token_authority.admin()).status_code
        == 200
    )


def test_deleting_a_subscription_cancels_what_it_had_pending(service, token_authority):
    alice = bank_integrator(token_authority)
    created = service.subscribe(
        alice, "http://127.0.0.1:9/hook", ["card.*"], secret="whsec_" + "QUJD" * 8
    )
    sid = created["subscription_id"]
    assert created["secret"] == "whsec_" + "QUJD" * 8
    service.handle(Journey().card("printed"))
    assert service.client.delete(f"/api/v1/subscriptions/{sid}", headers=alice).status_code == 204
    assert [d.status for d in service.deliveries(sid)] == ["cancelled"]
    problem(service.client.get(f"/api/v1/subscriptions/{sid}", headers=alice), 404)
    service.handle(Journey().card("printed"))
    assert len(service.deliveries(sid)) == 1


BAD_SUBSCRIPTIONS = [
    ({"url": "http://127.0.0.1:9/", "event_types": ["application.submitted"]}, "event_types"),
    ({"url": "http://127.0.0.1:9/", "event_types": ["nothing.*"]}, "event_types"),
    ({"url": "http://127.0.0.1:9/", "event_types": []}, "event_types"),
    ({"url": "http://127.0.0.1:9/", "event_types": ["card.*"], "secret": "hunter2"}, "secret"),
    ({"url": "ftp://127.0.0.1/", "event_types": ["card.*"]}, "url"),
    ({"url": "http://u:p@127.0.0.1/", "event_types": ["card.*"]}, "url"),
    ({"event_types": ["card.*"]}, "url"),
    ({"url": "http://no-such-host.invalid/", "event_types": ["card.*"]}, "url"),
]


def test_bad_subscriptions_are_422_problems_that_change_nothing(service, token_authority):
    alice = bank_integrator(token_authority)
    for body, field in BAD_SUBSCRIPTIONS:
        answer = problem(
            service.client.post("/api/v1/subscriptions", json=body, headers=alice), 422
        )
        assert field in answer["errors"], body
    assert service.client.get("/api/v1/subscriptions", headers=alice).get_json() == {"items": []}


def test_by_default_the_guard_refuses_cloud_metadata_and_private_addresses(
    settings_factory, token_authority
):
    strict = make_service(settings_factory, WEBHOOK_ALLOW_PRIVATE="0")
    try:
        alice = bank_integrator(token_authority)
        for url in (
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "http://10.0.0.8/hook",
            "http://172.16.5.4/hook",
            "https://192.168.1.20:8443/hook",
            "http://127.0.0.1:8005/api/v1/channels",
            "http://localhost/hook",
            "http://[::1]/hook",
            "http://0.0.0.0:8001/",
        ):
            answer = problem(
                strict.client.post(
                    "/api/v1/subscriptions",
                    json={"url": url, "event_types": ["card.*"]},
                    headers=alice,
                ),
                422,
            )
            assert "Not an allowed destination" in answer["errors"]["url"][0], url
        assert strict.client.get("/api/v1/subscriptions", headers=alice).get_json() == {"items": []}
    finally:
        strict.database.dispose()
