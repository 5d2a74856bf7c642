"""The identity registry simulator and the adapter the platform reaches it through."""

from __future__ import annotations

import base64

import pytest

from shared.errors import TransientError
from shared.identity_registry import IdentityRegistryClient
from simulators.identity_registry.app import SEED_FILE, create_app, seed
from simulators.identity_registry.store import PeopleStore
from tests.support import images
from tests.verification.factories import RegistryServer

PERSON = {
    "id_number": "34052419800101001X",
    "name": "周杰",
    "gender": "male",
    "birth_date": "1980-01-01",
    "ethnicity": "汉",
    "address": "安徽省合肥市长江中路1号",
}


@pytest.fixture
def client(tmp_path):
    store = PeopleStore(tmp_path / "people.sqlite3")
    seed(store)
    return create_app(store).test_client()


def test_the_seeded_people_are_there_with_their_photos(client):
    response = client.get("/registry/v1/people/11010519491231002X")
    assert response.status_code == 200
    assert response.get_json()["name"] == "王芳"
    photo = client.get("/registry/v1/people/11010519491231002x/photo")  # lowercase x accepted
    assert (photo.status_code, photo.mimetype) == (200, "image/jpeg")
    assert photo.data == (SEED_FILE.parent / "wang-fang.jpg").read_bytes()


def test_a_person_added_for_a_test_is_found_and_unknown_ones_are_not(client):
    body = {**PERSON, "photo_base64": base64.b64encode(images.card_photo("obama")).decode()}
    assert client.post("/registry/v1/people", json=body).status_code == 201
    assert client.post("/registry/v1/people", json=body).status_code == 200  # replaced
    assert client.get(f"/registry/v1/people/{PERSON['id_number']}").get_json() == PERSON
    assert client.get("/registry/v1/people/440524188001010014").status_code == 404
    invalid = client.post("/registry/v1/people", json={**PERSON, "gender": "x"})
    assert invalid.status_code == 422
    assert invalid.mimetype == "application/problem+json"


def test_the_adapter_reads_people_and_photos_and_reports_faults(tmp_path):
    server = RegistryServer(tmp_path)
    try:
        server.add(PERSON, images.card_photo("obama"))
        client = IdentityRegistryClient(server.url, timeout=(1, 0.5), retries=0)
        assert client.get_person(PERSON["id_number"]) == PERSON
        assert client.get_photo(PERSON["id_number"]) == images.card_photo("obama")
        assert client.get_person("440524188001010014") is None

        server.faults(503)
        with pytest.raises(TransientError):
            client.get_person(PERSON["id_number"])
        server.faults(None, delay_ms=1200)
        with pytest.raises(TransientError):
            client.get_person(PERSON["id_number"])
    finally:
        server.faults(None, 0)
        server.stop()


def test_an_unreachable_registry_is_transient_and_its_error_names_nobody():
    client = IdentityRegistryClient("http://127.0.0.1:9", timeout=(0.5, 0.5), retries=0)
    with pytest.raises(TransientError) as error:
        client.get_person(PERSON["id_number"])
    assert PERSON["id_number"] not in str(error.value)


def test_faults_are_validated(client):
    assert client.put("/control/v1/faults", json={"status": 503}).get_json() == {
        "status": 503,
        "delay_ms": 0,
    }
    assert client.get("/registry/v1/people/11010519491231002X").status_code == 503
    for bad in ({"status": 200}, {"delay_ms": "soon"}, {"delay_ms": -1}):
        response = client.put("/control/v1/faults", json=bad)
        assert response.status_code == 422, bad
        assert response.mimetype == "application/problem+json"
    assert client.put("/control/v1/faults", json={}).get_json() == {"status": None, "delay_ms": 0}
    assert client.get("/registry/v1/people/11010519491231002X").status_code == 200
