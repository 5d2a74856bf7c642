"""Photo and ID card uploads over HTTP: every rule with real images, every hostile file, the
photo on file from the identity registry, and the internal claim-check endpoint."""

from __future__ import annotations

import hashlib
import io
import logging

import pytest
from PIL import Image

from services.application.dao import dao_list_photo_views
from shared.auth.service_tokens import ServiceTokenClient
from shared.messaging.claim_check import claim_check_url, fetch_claimed_file
from shared.personal_data.protection import FileCipher
from shared.testing.tokens import TEST_SERVICE_SECRET
from shared.time import utcnow
from tests.application.factories import add_outlet, create_application, upload
from tests.application.integration.peers import serve_wsgi
from tests.support import images

PROBLEM = "application/problem+json"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def outlet(service) -> dict:
    return add_outlet(service.database)


@pytest.fixture
def draft(client, people, outlet):
    citizen = people.citizen()
    return citizen, create_application(client, citizen, outlet)["application_id"]


def view(client, citizen, application_id) -> dict:
    response = client.get(f"/api/v1/applications/{application_id}", headers=citizen.headers)
    assert response.status_code == 200
    return response.get_json()


def stored_file(client, token_authority, sha256: str):
    return client.get(
        f"/internal/v1/files/{sha256}", headers=token_authority.service("verification")
    )


def document_sha(service, application_id: str, kind: str) -> str:
    from services.application.dao import dao_get_documents

    with service.database.session_factory() as session:
        return dao_get_documents(session, application_id)[kind][0]


def test_a_card_photo_to_specification_is_stored(client, draft):
    citizen, application_id = draft
    response = upload(
        client, citizen, application_id, "photo", images.card_photo("biden"), "image/jpeg"
    )
    assert response.status_code == 204
    body = view(client, citizen, application_id)
    assert body["photo_source"] == "upload"
    assert body["missing"] == ["id_card_front", "id_card_back"]


def test_exif_and_gps_never_reach_storage(service, client, token_authority, draft):
    citizen, application_id = draft
    photo = images.card_photo_with_exif("obama2")
    assert upload(client, citizen, application_id, "photo", photo, "image/jpeg").status_code == 204
    front = images.id_card_front_with_metadata("obama2")
    assert (
        upload(client, citizen, application_id, "id_card_front", front, "image/jpeg").status_code
        == 204
    )
    back = images.id_card_back_with_text_chunks()
    assert (
        upload(client, citizen, application_id, "id_card_back", back, "image/png").status_code
        == 204
    )
    for kind, original in (("photo", photo), ("id_card_front", front), ("id_card_back", back)):
        sha256 = document_sha(service, application_id, kind)
        response = stored_file(client, token_authority, sha256)
        assert response.status_code == 200
        stored = response.data
        assert hashlib.sha256(stored).hexdigest() == sha256
        assert stored != original
        assert not Image.open(io.BytesIO(stored)).getexif()
        for marker in (b"TestCam", b"PhoneCam", b"shot at home", b"Location", b"appended archive"):
            assert marker not in stored
        # Sealed at rest: the volume alone (or a backup of it) shows no one's image.
        on_disk = service.settings.data_dir.joinpath("files", sha256[:2], sha256).read_bytes()
        assert on_disk.startswith(FileCipher.MARKER)
        assert stored[:64] not in on_disk and b"JFIF" not in on_disk[:64]


def test_files_are_judged_by_content_not_by_content_type(service, client, token_authority, draft):
    """A PNG ID card sent as image/jpeg is stored as the PNG it is."""
    citizen, application_id = draft
    front = images.id_card_front("biden", "PNG")
    assert (
        upload(client, citizen, application_id, "id_card_front", front, "image/jpeg").status_code
        == 204
    )
    response = stored_file(
        client, token_authority, document_sha(service, application_id, "id_card_front")
    )
    assert response.mimetype == "image/png"


HOSTILE_PHOTOS = [
    ("truncated jpeg", images.truncated_jpeg, "image/jpeg", 422),
    ("png named jpeg", images.png_named_jpeg, "image/jpeg", 415),
    ("gif", images.gif, "image/jpeg", 415),
    ("random bytes", lambda: images.random_bytes(30_000), "image/jpeg", 415),
    ("12 MB of random bytes", images.random_bytes, "image/jpeg", 413),
    ("wrong size", images.wrong_size_photo, "image/jpeg", 422),
    ("grey", images.grayscale_photo, "image/jpeg", 422),
    ("under 9 KB", images.undersized_file_photo, "image/jpeg", 422),
    ("declared png", images.card_photo, "image/png", 415),
    ("declared gif", images.gif, "image/gif", 415),
]


@pytest.mark.parametrize(("label", "make", "content_type", "status"), HOSTILE_PHOTOS)
def test_hostile_or_wrong_photos_are_refused_and_change_nothing(
    client, draft, label, make, content_type, status
):
    citizen, application_id = draft
    response = upload(client, citizen, application_id, "photo", make(), content_type)
    assert response.status_code == status, (label, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    assert "Traceback" not in response.get_data(as_text=True)
    assert view(client, citizen, application_id)["missing"][0] == "photo"


def test_a_photo_over_the_size_window_is_413(client, draft):
    citizen, application_id = draft
    big = images.card_photo("obama", quality=100)
    assert len(big) > 40 * 1024
    response = upload(client, citizen, application_id, "photo", big, "image/jpeg")
    assert response.status_code == 413


HOSTILE_ID_CARDS = [
    ("truncated jpeg", images.truncated_jpeg, "image/jpeg", 422),
    ("gif", images.gif, "image/png", 415),
    ("12 MB of random bytes", images.random_bytes, "image/png", 413),
    ("long side under 600 px", images.small_id_card, "image/png", 422),
    ("declared pdf", images.id_card_back, "application/pdf", 415),
]


@pytest.mark.parametrize(("label", "make", "content_type", "status"), HOSTILE_ID_CARDS)
@pytest.mark.parametrize("side", ["id_card_front", "id_card_back"])
def test_hostile_or_wrong_id_card_images_are_refused(
    client, draft, side, label, make, content_type, status
):
    citizen, application_id = draft
    response = upload(client, citizen, application_id, side, make(), content_type)
    assert response.status_code == status, (label, response.get_data(as_text=True))
    assert side in view(client, citizen, application_id)["missing"]


@pytest.mark.parametrize(
    ("kind", "content_type"), [("photo", "image/jpeg"), ("id_card_front", "image/png")]
)
def test_a_decompression_bomb_is_refused(client, draft, bomb, kind, content_type):
    citizen, application_id = draft
    response = upload(client, citizen, application_id, kind, bomb, content_type)
    assert response.status_code == 422
    assert "pixels" in response.get_data(as_text=True)


def test_an_id_card_image_over_5_mb_is_413(client, draft):
    citizen, application_id = draft
    body = images.id_card_front("obama", "PNG")
    oversized = body + b"\0" * (5 * MB + 1 - len(body))
    assert (
        upload(client, citizen, application_id, "id_card_front", oversized, "image/png").status_code
        == 413
    )


def test_the_photo_size_window_is_a_setting(service, people, outlet):
    photo = images.card_photo("obama")
    bigger = service.with_settings(
        APPLICATION_PHOTO_MIN_BYTES=str(len(photo) + 1), APPLICATION_PHOTO_MAX_BYTES="204800"
    )
    client = bigger.client()
    citizen = people.citizen()
    application_id = create_application(client, citizen, outlet)["application_id"]
    assert upload(client, citizen, application_id, "photo", photo, "image/jpeg").status_code == 422
    big = images.card_photo("obama", quality=100)
    assert 40 * 1024 < len(big) < 200 * 1024
    assert upload(client, citizen, application_id, "photo", big, "image/jpeg").status_code == 204
    bigger.database.dispose()


def photo_views(service, application_id: str) -> list[tuple[str, str]]:
    with service.database.session_factory() as session:
        views = dao_list_photo_views(session, application_id)
        return [(row.account_id, row.viewed_at) for row in views]


def test_the_photo_on_file_is_shown_and_can_be_chosen(
    service, client, people, outlet, token_authority, caplog
):
    on_file = images.card_photo("biden2")
    citizen = people.citizen(photo_on_file=on_file)
    application_id = create_application(client, citizen, outlet)["application_id"]

    before = utcnow()
    with caplog.at_level(logging.INFO, logger="services.application"):
        shown = client.get(
            f"/api/v1/applications/{application_id}/default-photo", headers=citizen.headers
        )
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert shown.data == on_file
    assert shown.headers["Cache-Control"] == "private, no-store"
    [(account_id, viewed_at)] = photo_views(service, application_id)
    assert account_id == citizen.account_id and before <= viewed_at <= utcnow()
    [line] = [r.getMessage() for r in caplog.records if "photo on file" in r.getMessage()]
    assert application_id in line and citizen.account_id in line
    assert citizen.id_number not in line and citizen.name not in line

    chosen = client.put(
        f"/api/v1/applications/{application_id}/photo",
        json={"source": "on_file"},
        headers=citizen.headers,
    )
    assert chosen.status_code == 204
    assert view(client, citizen, application_id)["photo_source"] == "on_file"
    sha256 = document_sha(service, application_id, "photo")
    assert sha256 == hashlib.sha256(on_file).hexdigest()


def test_an_account_the_identity_check_no_longer_vouches_for_is_refused_the_photo(
    service, client, people, accounts, outlet, caplog
):
    """Locked since it applied (another account of the same person was proven), or never
    confirmed: 403 with a code, nothing shown, nothing chosen, the refusal logged."""
    citizen = people.citizen(photo_on_file=images.card_photo("biden2"))
    application_id = create_application(client, citizen, outlet)["application_id"]
    accounts.lock(citizen.account_id)
    with caplog.at_level(logging.INFO, logger="services.application"):
        shown = client.get(
            f"/api/v1/applications/{application_id}/default-photo", headers=citizen.headers
        )
    assert shown.status_code == 403 and shown.mimetype == PROBLEM
    body = shown.get_json()
    assert body["code"] == "identity_not_proven"
    assert "phone is proven" in body["detail"]
    assert photo_views(service, application_id) == []
    assert any("photo on file refused" in r.getMessage() for r in caplog.records)
    chosen = client.put(
        f"/api/v1/applications/{application_id}/photo",
        json={"source": "on_file"},
        headers=citizen.headers,
    )
    assert chosen.status_code == 403
    assert "photo" in view(client, citizen, application_id)["missing"]


def test_without_a_photo_on_file_there_is_nothing_to_show_or_choose(
    service, client, people, outlet
):
    citizen = people.citizen(on_registry=True)
    application_id = create_application(client, citizen, outlet)["application_id"]
    shown = client.get(
        f"/api/v1/applications/{application_id}/default-photo", headers=citizen.headers
    )
    assert shown.status_code == 404 and shown.mimetype == PROBLEM
    assert photo_views(service, application_id) == []
    chosen = client.put(
        f"/api/v1/applications/{application_id}/photo",
        json={"source": "on_file"},
        headers=citizen.headers,
    )
    assert chosen.status_code == 422
    assert "photo" in view(client, citizen, application_id)["missing"]


@pytest.mark.parametrize("body", [{"source": "camera"}, {}, {"source": "on_file", "extra": 1}])
def test_a_wrong_photo_source_is_422(client, draft, body):
    citizen, application_id = draft
    response = client.put(
        f"/api/v1/applications/{application_id}/photo", json=body, headers=citizen.headers
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_malformed_json_for_the_photo_source_is_400(client, draft):
    citizen, application_id = draft
    response = client.put(
        f"/api/v1/applications/{application_id}/photo",
        data=b"{source",
        content_type="application/json",
        headers=citizen.headers,
    )
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_the_registry_being_down_is_a_503(service, people, outlet):
    citizen = people.citizen(photo_on_file=images.card_photo("obama"))
    broken = service.with_settings(IDENTITY_REGISTRY_URL="http://127.0.0.1:9")
    client = broken.client()
    application_id = create_application(client, citizen, outlet)["application_id"]
    response = client.get(
        f"/api/v1/applications/{application_id}/default-photo", headers=citizen.headers
    )
    assert response.status_code == 503 and response.headers["Retry-After"]
    broken.database.dispose()


def test_the_claim_check_endpoint_is_for_services_only(service, client, token_authority, draft):
    citizen, application_id = draft
    photo = images.card_photo("obama")
    upload(client, citizen, application_id, "photo", photo, "image/jpeg")
    sha256 = hashlib.sha256(photo).hexdigest()
    path = f"/internal/v1/files/{sha256}"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=citizen.headers).status_code == 403
    assert client.get(path, headers=token_authority.admin()).status_code == 403
    for other in ("notification", "registration", "application", "sscardctl"):
        assert client.get(path, headers=token_authority.service(other)).status_code == 403
    assert (
        client.get(
            f"/internal/v1/files/{'0' * 64}", headers=token_authority.service("printing")
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/internal/v1/files/not-a-digest", headers=token_authority.service("printing")
        ).status_code
        == 404
    )
    served = client.get(path, headers=token_authority.service("printing"))
    assert served.status_code == 200 and served.data == photo and served.mimetype == "image/jpeg"


def test_a_consumer_fetches_a_claim_check_over_http_with_a_service_token(
    service, client, token_authority, draft
):
    citizen, application_id = draft
    front = images.id_card_front("obama2", "PNG")
    upload(client, citizen, application_id, "id_card_front", front, "image/png")
    sha256 = hashlib.sha256(front).hexdigest()
    tokens = ServiceTokenClient(token_authority.url, "verification", TEST_SERVICE_SECRET)
    with serve_wsgi(service.app) as base_url:
        reference = {
            "url": claim_check_url(base_url, sha256),
            "sha256": sha256,
            "content_type": "image/png",
        }
        assert fetch_claimed_file(reference, tokens, base_url=base_url) == front


def test_the_internal_endpoint_is_documented_as_internal(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/internal/v1/files/{sha256}"]["get"]
    assert "internal" in operation["tags"]
    assert operation["security"] == [{"bearerAuth": []}]
