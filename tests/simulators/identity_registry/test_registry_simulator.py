"""The identity registry simulator and the adapter the platform reaches it through."""

from __future__ import annotations

import base64

import pytest

from shared.errors import TransientError
from shared.peers.identity_registry import IdentityRegistryClient
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


@pytest.mark.parametrize("photo", ["absent", None, ""])
def test_a_person_with_no_photo_on_file_can_be_added(client, photo):
    body = dict(PERSON) if photo == "absent" else {**PERSON, "photo_base64": photo}
    created = client.post("/registry/v1/people", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json() == PERSON
    assert client.get(f"/registry/v1/people/{PERSON['id_number']}").get_json() == PERSON
    no_photo = client.get(f"/registry/v1/people/{PERSON['id_number']}/photo")
    assert no_photo.status_code == 404
    assert no_photo.mimetype == "application/problem+json"


def test_a_person_added_again_without_a_photo_loses_the_old_one(client):
    with_photo = {**PERSON, "photo_base64": base64.b64encode(images.card_photo("obama")).decode()}
    assert client.post("/registry/v1/people", json=with_photo).status_code == 201
    assert client.get(f"/registry/v1/people/{PERSON['id_number']}/photo").status_code == 200
    assert (
        client.post("/registry/v1/people", json={**PERSON, "photo_base64": None}).status_code == 200
    )
    assert client.get(f"/registry/v1/people/{PERSON['id_number']}/photo").status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"null", "application/json", 422),
        (b"42", "text/plain", 422),
        (b'{"id_number": 5}', "application/json", 422),
        (b'{"photo_base64": 5}', "application/json", 422),
    ],
)
def test_bad_bodies_are_problems_never_a_500(client, body, content_type, status):
    response = client.post("/registry/v1/people", data=body, content_type=content_type)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    assert {"type", "title", "status"} <= set(problem)


def test_wrong_field_values_are_named(client):
    for field, value in (
        ("photo_base64", "not base64!"),
        ("id_number", "１１０１０５１９８５０３１２１２３４"),  # full-width digits
        ("birth_date", "yesterday"),
        ("name", ""),
    ):
        response = client.post("/registry/v1/people", json={**PERSON, field: value})
        assert response.status_code == 422, field
        assert field in response.get_json()["errors"], field


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/registry/v1/people", 405),
        ("DELETE", "/registry/v1/people/110105198503121234", 405),
        ("GET", "/registry/v1/people/000000000000000000", 404),
        ("GET", "/registry/v1/people/000000000000000000/photo", 404),
    ],
)
def test_every_error_is_problem_json_not_html(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == status
    assert "<html" not in response.get_data(as_text=True).lower()


def test_an_oversized_body_is_a_problem(client):
    response = client.post(
        "/registry/v1/people",
        data=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
