"""The SMS gateway simulator: texts recorded and read back, the carriers' real-name check, and
problem+json for everything that goes wrong."""

from __future__ import annotations

import json
import threading

import pytest

from simulators.identity_registry.app import SEED_FILE as REGISTRY_SEED_FILE
from simulators.sms_gateway.app import SEED_FILE, create_app, seed
from simulators.sms_gateway.store import GatewayStore

OWNER = {"phone": "13611112222", "name": "周杰", "id_number": "34052419800101001X"}


@pytest.fixture
def store(tmp_path):
    return GatewayStore(tmp_path / "sms.sqlite3")


@pytest.fixture
def client(store):
    seed(store)
    return create_app(store, token="").test_client()


def send(client, phone="13800138000", text="您的验证码是 123456", **headers):
    return client.post("/sms/v1/messages", json={"phone": phone, "text": text}, headers=headers)


def verify(client, **fields):
    return client.post("/carrier/v1/verify", json={**OWNER, **fields})


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "service": "sms_gateway"}


def test_a_text_is_accepted_with_an_id_and_read_back_newest_first(client):
    first = send(client, text="验证码 111111")
    second = send(client, text="验证码 222222")
    send(client, phone="13900000000", text="someone else's")
    assert first.status_code == second.status_code == 202
    assert first.get_json()["id"] != second.get_json()["id"]
    items = client.get("/sms/v1/messages?phone=13800138000").get_json()["items"]
    assert [item["text"] for item in items] == ["验证码 222222", "验证码 111111"]
    assert set(items[0]) == {"phone", "text", "sent_at"}
    assert items[0]["phone"] == "13800138000"
    assert items[0]["sent_at"] >= items[1]["sent_at"]
    everyone = client.get("/sms/v1/messages").get_json()["items"]
    assert [item["phone"] for item in everyone] == ["13900000000", "13800138000", "13800138000"]
    assert len(client.get("/sms/v1/messages?limit=1").get_json()["items"]) == 1


def test_a_phone_is_the_same_phone_in_full_width_digits(client):
    assert send(client, phone=" １３８００１３８０００ ").status_code == 202
    items = client.get("/sms/v1/messages?phone=13800138000").get_json()["items"]
    assert [item["phone"] for item in items] == ["13800138000"]


def test_a_phone_with_no_texts_has_an_empty_list(client):
    assert client.get("/sms/v1/messages?phone=13500000000").get_json() == {"items": []}


def test_the_store_keeps_only_the_newest_texts(tmp_path):
    client = create_app(GatewayStore(tmp_path / "s.sqlite3", max_messages=3), token="")
    client = client.test_client()
    for number in range(5):
        send(client, text=f"text {number}")
    items = client.get("/sms/v1/messages?phone=13800138000").get_json()["items"]
    assert [item["text"] for item in items] == ["text 4", "text 3", "text 2"]


def test_the_store_keeps_only_the_most_recently_recorded_owners(tmp_path):
    client = create_app(GatewayStore(tmp_path / "s.sqlite3", max_subscribers=2), token="")
    client = client.test_client()
    for suffix in ("1", "2", "3"):
        body = {**OWNER, "phone": "1360000000" + suffix}
        assert client.post("/carrier/v1/subscribers", json=body).status_code == 201
    assert verify(client, phone="13600000001").get_json() == {"match": False}
    assert verify(client, phone="13600000003").get_json() == {"match": True}


def test_texts_sent_concurrently_are_all_recorded(client):
    def burst(worker):
        for number in range(10):
            assert send(client, text=f"{worker}-{number}").status_code == 202

    threads = [threading.Thread(target=burst, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    items = client.get("/sms/v1/messages?phone=13800138000").get_json()["items"]
    assert len(items) == 40


def test_the_carrier_confirms_only_the_recorded_owner_of_a_phone(client):
    assert client.post("/carrier/v1/subscribers", json=OWNER).status_code == 201
    assert verify(client).get_json() == {"match": True}
    assert verify(client, name="周杰伦").get_json() == {"match": False}
    assert verify(client, id_number="340524198001010011").get_json() == {"match": False}
    assert verify(client, phone="13611113333").get_json() == {"match": False}  # no owner


def test_the_carrier_compares_one_spelling_of_a_person(client):
    assert client.post("/carrier/v1/subscribers", json=OWNER).status_code == 201
    full_width_lower_x = "３４０５２４１９８００１０１００１ｘ"
    assert verify(client, id_number=full_width_lower_x).get_json() == {"match": True}
    assert verify(client, id_number="34052419800101001x").get_json() == {"match": True}
    assert verify(client, name="  周杰 ").get_json() == {"match": True}
    assert verify(client, id_number="not an ID number").get_json() == {"match": False}


def test_recording_a_phone_again_changes_its_owner(client):
    assert client.post("/carrier/v1/subscribers", json=OWNER).status_code == 201
    new_owner = {**OWNER, "name": "吴敏", "id_number": "340524198502020023"}
    recorded = client.post("/carrier/v1/subscribers", json=new_owner)
    assert recorded.status_code == 201
    assert recorded.get_json() == new_owner
    assert verify(client).get_json() == {"match": False}
    assert verify(client, name="吴敏", id_number="340524198502020023").get_json() == {"match": True}


def test_the_demo_people_own_their_seeded_phones(client):
    registry = {p["id_number"]: p["name"] for p in json.loads(REGISTRY_SEED_FILE.read_text())}
    seeded = json.loads(SEED_FILE.read_text())
    assert {entry["id_number"] for entry in seeded} == set(registry)
    assert len({entry["phone"] for entry in seeded}) == len(seeded)
    for entry in seeded:
        assert entry["name"] == registry[entry["id_number"]]
        assert verify(client, **entry).get_json() == {"match": True}


def test_a_token_is_required_to_send_when_one_is_configured(store):
    client = create_app(store, token="s3cret").test_client()
    assert_problem(send(client), 401)
    assert_problem(send(client, Authorization="Bearer wrong"), 401)
    assert send(client, Authorization="Bearer s3cret").status_code == 202
    assert client.get("/sms/v1/messages?phone=13800138000").status_code == 200


BAD_BODIES = [
    (b"not json", 400),
    (b"\xff\xfe\x00", 400),
    (b"", 422),
    (b"[]", 422),
    (b"null", 422),
    (b'"text"', 422),
]


@pytest.mark.parametrize(
    "path", ["/sms/v1/messages", "/carrier/v1/verify", "/carrier/v1/subscribers"]
)
@pytest.mark.parametrize(("body", "status"), BAD_BODIES)
def test_a_body_that_is_not_a_json_object_is_a_problem(client, path, body, status):
    assert_problem(client.post(path, data=body, content_type="application/json"), status)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/sms/v1/messages", {"text": "x"}, "phone"),
        ("/sms/v1/messages", {"phone": "13800138000"}, "text"),
        ("/sms/v1/messages", {"phone": 13800138000, "text": "x"}, "phone"),
        ("/sms/v1/messages", {"phone": "13800138000", "text": ["x"]}, "text"),
        ("/sms/v1/messages", {"phone": "call me", "text": "x"}, "phone"),
        ("/sms/v1/messages", {"phone": "13800138000", "text": ""}, "text"),
        ("/sms/v1/messages", {"phone": "13800138000", "text": "x" * 1001}, "text"),
        ("/carrier/v1/verify", {**OWNER, "name": None}, "name"),
        ("/carrier/v1/verify", {**OWNER, "name": "   "}, "name"),
        ("/carrier/v1/verify", {**OWNER, "id_number": 340524}, "id_number"),
        ("/carrier/v1/verify", {"phone": "13611112222", "name": "周杰"}, "id_number"),
        ("/carrier/v1/verify", {**OWNER, "phone": {"n": 1}}, "phone"),
        ("/carrier/v1/subscribers", {**OWNER, "id_number": "12345"}, "id_number"),
        ("/carrier/v1/subscribers", {**OWNER, "id_number": False}, "id_number"),
        ("/carrier/v1/subscribers", {"phone": "13611112222", "id_number": "x"}, "name"),
    ],
)
def test_missing_and_mistyped_fields_are_named_in_a_422(client, path, body, field):
    response = client.post(path, json=body)
    assert_problem(response, 422)
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("query", ["phone=abc", "limit=0", "limit=many", "limit=100000"])
def test_a_bad_query_is_a_422(client, query):
    assert_problem(client.get(f"/sms/v1/messages?{query}"), 422)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/sms/v1/nowhere", 404),
        ("DELETE", "/sms/v1/messages", 405),
        ("GET", "/carrier/v1/verify", 405),
        ("PUT", "/healthz", 405),
    ],
)
def test_unknown_paths_and_methods_are_problems_not_html(client, method, path, status):
    response = client.open(path, method=method)
    assert_problem(response, status)
    assert "<html" not in response.get_data(as_text=True).lower()


def test_an_oversized_body_is_a_413_problem(client):
    body = json.dumps({"phone": "13800138000", "text": "x" * 100_000})
    assert_problem(client.post("/sms/v1/messages", data=body, content_type="application/json"), 413)


def test_faults_make_texts_and_the_carrier_unavailable_until_cleared(client):
    assert client.put("/control/v1/faults", json={"status": 503}).get_json() == {
        "status": 503,
        "delay_ms": 0,
    }
    assert_problem(send(client), 503)
    assert_problem(verify(client), 503)
    assert client.get("/healthz").status_code == 200
    for bad in ({"status": 200}, {"delay_ms": "soon"}, {"delay_ms": -1}):
        assert_problem(client.put("/control/v1/faults", json=bad), 422)
    assert client.put("/control/v1/faults", json={}).get_json() == {"status": None, "delay_ms": 0}
    assert send(client).status_code == 202


def test_faults_are_seen_by_every_worker_sharing_the_store(tmp_path):
    one = create_app(GatewayStore(tmp_path / "shared.sqlite3"), token="").test_client()
    other = create_app(GatewayStore(tmp_path / "shared.sqlite3"), token="").test_client()
    one.put("/control/v1/faults", json={"status": 503})
    assert_problem(send(other), 503)
    one.put("/control/v1/faults", json={})
    assert send(other).status_code == 202
    assert len(one.get("/sms/v1/messages?phone=13800138000").get_json()["items"]) == 1


def test_started_from_the_environment_it_keeps_its_data_under_var_and_seeds_itself(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SSCARD_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SMS_GATEWAY_MAX_MESSAGES", "2")
    monkeypatch.delenv("SMS_GATEWAY_DB_PATH", raising=False)
    monkeypatch.delenv("SMS_GATEWAY_TOKEN", raising=False)
    client = create_app().test_client()
    assert (tmp_path / "var" / "db" / "sms_gateway.sqlite3").exists()
    seeded = json.loads(SEED_FILE.read_text())[0]
    assert verify(client, **seeded).get_json() == {"match": True}
    for number in range(3):
        assert send(client, text=str(number)).status_code == 202
    assert len(client.get("/sms/v1/messages").get_json()["items"]) == 2
