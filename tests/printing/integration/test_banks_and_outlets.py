"""Banks and outlets: seeded once, listed publicly, changed by admins, every change published
as `outlet.upserted` with the outlet's full state."""

from __future__ import annotations

import json
import uuid

import pytest

from services.printing.app import create_app
from services.printing.handlers import HANDLERS
from services.printing.use_cases.seed import SEED_FILE
from shared.messaging.envelope import new_event
from sscardctl.seed import seed_partner_banks
from tests.printing.integration.helpers import handle, outbox_events, queue_depth

PROBLEM = "application/problem+json"
SEEDED = json.loads(SEED_FILE.read_text(encoding="utf-8"))["banks"]


@pytest.fixture(scope="module")
def client(printing):
    settings, _database = printing
    app = create_app(settings)
    app.testing = True
    yield app.test_client()
    app.extensions["sscard"].database.dispose()


def test_the_seed_file_has_three_or_more_banks_each_with_outlets_in_two_districts():
    assert len(SEEDED) >= 3
    for bank in SEEDED:
        assert len({outlet["district"] for outlet in bank["outlets"]}) >= 2


def test_seeding_published_every_outlet_once_and_a_second_run_changes_nothing(printing, tmp_path):
    settings, deps = printing
    database = deps.database
    outlet_ids = {outlet["outlet_id"] for bank in SEEDED for outlet in bank["outlets"]}
    published = [event["data"]["outlet_id"] for event in outbox_events(database, "outlet.upserted")]
    assert outlet_ids <= set(published)
    assert all(published.count(outlet_id) == 1 for outlet_id in outlet_ids)

    again = seed_partner_banks(settings)
    assert (again.banks_created, again.outlets_published) == (0, 0)

    changed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    changed["banks"][0]["outlets"][0]["address"] = "北京市西城区新地址1号"
    edited = tmp_path / "banks.json"
    edited.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    report = seed_partner_banks(settings, edited)
    assert report.outlets_published == 1
    first = changed["banks"][0]["outlets"][0]["outlet_id"]
    latest = outbox_events(database, "outlet.upserted", first)[-1]["data"]
    assert latest["address"] == "北京市西城区新地址1号"
    assert latest["active"] is True
    seed_partner_banks(settings)  # back to the file's state for the other tests


def test_every_seeded_bank_has_its_print_queue(printing):
    settings, _database = printing
    for bank in SEEDED:
        assert queue_depth(settings, f"print.{bank['bank_code']}") >= 0


def test_banks_and_outlets_are_public(client):
    banks = client.get("/api/v1/banks").get_json()["items"]
    assert {bank["bank_code"] for bank in banks} >= {"ICBC", "CCB", "BOC"}
    outlets = client.get("/api/v1/outlets?bank_code=ICBC").get_json()["items"]
    assert outlets and all(outlet["bank_code"] == "ICBC" for outlet in outlets)
    assert outlets[0]["bank_name"] == "中国工商银行"
    assert set(outlets[0]) == {
        "outlet_id",
        "bank_code",
        "bank_name",
        "name",
        "district",
        "address",
        "active",
    }


def test_an_admin_creates_and_changes_an_outlet_and_each_change_is_published(
    client, printing, token_authority
):
    _settings, deps = printing
    database = deps.database
    admin = token_authority.admin()
    body = {
        "bank_code": "BOC",
        "name": "中国银行北京东城支行",
        "district": "东城区",
        "address": "北京市东城区王府井大街1号",
    }
    created = client.post("/api/v1/outlets", json=body, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    outlet_id = created.get_json()["outlet_id"]
    [event] = outbox_events(database, "outlet.upserted", outlet_id)
    expected = {**body, "outlet_id": outlet_id, "bank_name": "中国银行", "active": True}
    assert event["data"] == expected

    path, closing = f"/api/v1/outlets/{outlet_id}", {**body, "active": False}
    closed = client.put(path, json=closing, headers=admin)
    assert closed.status_code == 200
    assert closed.get_json()["active"] is False
    again = client.put(path, json=closing, headers=admin)
    assert again.status_code == 200
    published = outbox_events(database, "outlet.upserted", outlet_id)
    assert [event["data"]["active"] for event in published] == [True, False]  # no-op: no event

    listed = client.get("/api/v1/outlets?bank_code=BOC").get_json()["items"]
    assert outlet_id not in {outlet["outlet_id"] for outlet in listed}
    everything = client.get("/api/v1/outlets?bank_code=BOC&include_inactive=true").get_json()
    assert outlet_id in {outlet["outlet_id"] for outlet in everything["items"]}


def test_outlet_changes_need_an_admin_and_valid_fields_and_bad_ones_change_nothing(
    client, printing, token_authority
):
    _settings, deps = printing
    database = deps.database
    before = len(outbox_events(database))
    body = {"bank_code": "BOC", "name": "x", "district": "东城区", "address": "y"}
    assert client.post("/api/v1/outlets", json=body).status_code == 401
    citizen = token_authority.citizen(str(uuid.uuid4()))
    assert client.post("/api/v1/outlets", json=body, headers=citizen).status_code == 403
    operator = token_authority.bank_operator("BOC")
    assert client.post("/api/v1/outlets", json=body, headers=operator).status_code == 403

    admin = token_authority.admin()
    unknown_bank = client.post("/api/v1/outlets", json={**body, "bank_code": "NOPE"}, headers=admin)
    assert unknown_bank.status_code == 422
    assert unknown_bank.mimetype == PROBLEM
    assert unknown_bank.get_json()["errors"] == {"bank_code": ["Unknown bank."]}
    missing = client.post("/api/v1/outlets", json={"bank_code": "BOC"}, headers=admin)
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"name", "district", "address"}
    nowhere = client.put(f"/api/v1/outlets/{uuid.uuid4()}", json=body, headers=admin)
    assert nowhere.status_code == 404
    not_json = client.post(
        "/api/v1/outlets", data="{", content_type="application/json", headers=admin
    )
    assert not_json.status_code == 400
    assert len(outbox_events(database)) == before


def test_an_admin_adds_a_bank_and_its_print_queue_exists_at_once(client, printing, token_authority):
    settings, deps = printing
    database = deps.database
    code = "PSBC" + uuid.uuid4().hex[:4].upper()
    response = client.put(
        f"/api/v1/banks/{code}", json={"name": "邮储银行"}, headers=token_authority.admin()
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert queue_depth(settings, f"print.{code}") == 0

    body = {"bank_code": code, "name": "邮储银行北京支行", "district": "西城区", "address": "z"}
    outlet = client.post("/api/v1/outlets", json=body, headers=token_authority.admin()).get_json()
    renamed = client.put(
        f"/api/v1/banks/{code}", json={"name": "中国邮政储蓄银行"}, headers=token_authority.admin()
    )
    assert renamed.status_code == 200
    latest = outbox_events(database, "outlet.upserted", outlet["outlet_id"])[-1]
    assert latest["data"]["bank_name"] == "中国邮政储蓄银行"

    bad = client.put("/api/v1/banks/bad.code", json={"name": "x"}, headers=token_authority.admin())
    assert bad.status_code == 422


def test_a_snapshot_request_republishes_every_outlet(printing):
    settings, deps = printing
    database = deps.database
    before = len(outbox_events(database, "outlet.upserted"))
    request = new_event(
        "outlet.snapshot_requested", {"requested_by": "application"}, source="application"
    )
    assert handle(settings, deps, HANDLERS, request, request) == ["handled", "duplicate"]
    outlets = sum(len(bank["outlets"]) for bank in SEEDED)
    assert len(outbox_events(database, "outlet.upserted")) - before >= outlets
