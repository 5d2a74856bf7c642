"""Creating, submitting and cancelling applications over HTTP, and who may touch them."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from services.application.api.schemas import ApplicationSchema
from services.application.dao import dao_get_application
from services.application.domain.progress import ProgressFact
from services.application.domain.status import Status
from services.application.models import Application
from services.application.use_cases.progress import record_progress
from shared.db.uow import UnitOfWork
from shared.messaging.claim_check import claim_check_url
from shared.testing.infrastructure import database_backend
from tests.application.factories import (
    add_outlet,
    at,
    complete_draft,
    create_application,
    new_id_number,
    submitted_application,
    upload,
)
from tests.application.integration.conftest import APPLICATION_URL
from tests.support import images

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def outlet(service) -> dict:
    return add_outlet(service.database)


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def outbox(service, event_type: str) -> list[dict]:
    table = service.database.outbox.table
    with service.database.session_factory() as session:
        rows = session.execute(
            select(table.c.body).where(table.c.event_type == event_type).order_by(table.c.seq)
        ).all()
    return [json.loads(row.body) for row in rows]


def applications_of(service, account_id: str) -> list[Application]:
    with service.database.session_factory() as session:
        return list(
            session.scalars(select(Application).where(Application.account_id == account_id))
        )


def test_a_citizen_opens_a_draft_for_themselves(client, people, outlet):
    citizen = people.citizen()
    response = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant()},
        headers=citizen.headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/applications/{body['application_id']}")
    assert body["status"] == "draft"
    assert body["acceptance_number"] is None
    assert body["outlet_id"] == outlet["outlet_id"]
    assert body["bank_code"] == "ICBC"
    assert body["applicant"]["name"] == citizen.name
    assert (
        body["applicant"]["id_number_masked"]
        == citizen.id_number[:6] + "********" + citizen.id_number[-4:]
    )
    assert citizen.id_number not in response.get_data(as_text=True)
    assert body["missing"] == ["photo", "id_card_front", "id_card_back"]
    assert body["card"] is None and body["rejection_reasons"] == []
    assert [entry["status"] for entry in body["timeline"]] == ["draft"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["created_at"])
    assert_documented_shape(body)

    listed = client.get("/api/v1/applications", headers=citizen.headers).get_json()
    assert [item["application_id"] for item in listed["items"]] == [body["application_id"]]


def assert_documented_shape(body: dict) -> None:
    """The stored view is what the OpenAPI document promises: every field, nothing else."""
    schema = ApplicationSchema()
    assert set(body) == set(schema.fields)
    schema.load(body)  # raises on any field of the wrong kind, or one the schema lacks


def test_the_id_number_is_stored_encrypted(service, client, people, outlet):
    citizen = people.citizen()
    create_application(client, citizen, outlet)
    [stored] = applications_of(service, citizen.account_id)
    assert citizen.id_number not in stored.id_number_encrypted
    assert citizen.id_number not in stored.id_number_index


@pytest.mark.parametrize("whose", ["name", "id_number", "both"])
def test_applying_with_someone_elses_name_or_number_is_forbidden(
    service, client, people, outlet, whose
):
    citizen, other = people.citizen(), people.citizen()
    changes = {
        "name": {"name": other.name},
        "id_number": {
            "id_number": other.id_number,
            "gender": other.gender,
            "birth_date": other.birth_date.isoformat(),
        },
        "both": other.applicant(),
    }[whose]
    response = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant(**changes)},
        headers=citizen.headers,
    )
    problem(response, 403)
    assert applications_of(service, citizen.account_id) == []


def test_one_open_application_per_account(client, people, outlet):
    citizen = people.citizen()
    first = create_application(client, citizen, outlet)
    again = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant()},
        headers=citizen.headers,
    )
    assert "already" in problem(again, 409)["detail"]

    cancel = client.post(
        f"/api/v1/applications/{first['application_id']}/cancel", headers=citizen.headers
    )
    assert cancel.status_code == 202
    assert create_application(client, citizen, outlet)["application_id"] != first["application_id"]


def test_another_account_with_the_same_id_number_is_not_blocked(service, client, people, outlet):
    """Whoever registered a person's ID number first never keeps that person from applying:
    the open application is one per account; one card per person is taken at approval."""
    squatter = people.citizen()
    person = people.citizen(same_person_as=squatter)
    theirs = create_application(client, squatter, outlet)
    response = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": person.applicant()},
        headers=person.headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["application_id"] != theirs["application_id"]
    [mine] = applications_of(service, person.account_id)
    [other] = applications_of(service, squatter.account_id)
    assert (mine.open_account_key, other.open_account_key) == (
        person.account_id,
        squatter.account_id,
    )
    assert mine.id_number_index == other.id_number_index
    # Each account still has its one open application.
    again = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": person.applicant()},
        headers=person.headers,
    )
    problem(again, 409)


def test_two_requests_of_one_account_at_once_open_one_application(service, people, outlet):
    citizen = people.citizen()
    body = {"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant()}

    def create(_):
        return service.client().post("/api/v1/applications", json=body, headers=citizen.headers)

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(response.status_code for response in pool.map(create, range(4)))
    assert statuses == [201, 409, 409, 409]
    assert len(applications_of(service, citizen.account_id)) == 1


def test_a_retried_create_with_the_same_idempotency_key_creates_one_application(
    service, client, people, outlet
):
    citizen = people.citizen()
    headers = {**citizen.headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant()}
    first = client.post("/api/v1/applications", json=body, headers=headers)
    again = client.post("/api/v1/applications", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["application_id"] == first.get_json()["application_id"]
    assert len(applications_of(service, citizen.account_id)) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id_number": "110105194912310021"}, "applicant.id_number"),
        ({"gender": "other"}, "applicant.gender"),
        ({"birth_date": "1900-01-01"}, "applicant.birth_date"),
        ({"phone": "call me"}, "applicant.phone"),
        ({"person_status": "astronaut"}, "applicant.person_status"),
    ],
)
def test_invalid_applicant_details_are_422_per_field(
    service, client, people, outlet, changes, field
):
    citizen = people.citizen()
    response = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant(**changes)},
        headers=citizen.headers,
    )
    assert field in problem(response, 422)["errors"]
    assert applications_of(service, citizen.account_id) == []


def test_a_gender_that_contradicts_the_id_number_is_422(client, people, outlet):
    citizen = people.citizen()
    other_gender = "female" if citizen.gender == "male" else "male"
    response = client.post(
        "/api/v1/applications",
        json={
            "outlet_id": outlet["outlet_id"],
            "applicant": citizen.applicant(gender=other_gender),
        },
        headers=citizen.headers,
    )
    assert "applicant.gender" in problem(response, 422)["errors"]


@pytest.mark.parametrize("outlet_kind", ["unknown", "inactive"])
def test_an_unknown_or_inactive_outlet_is_422(service, client, people, outlet_kind):
    citizen = people.citizen()
    outlet_id = (
        str(uuid.uuid4())
        if outlet_kind == "unknown"
        else add_outlet(service.database, active=False)["outlet_id"]
    )
    response = client.post(
        "/api/v1/applications",
        json={"outlet_id": outlet_id, "applicant": citizen.applicant()},
        headers=citizen.headers,
    )
    assert "outlet_id" in problem(response, 422)["errors"]


def test_registration_unreachable_is_a_503_and_creates_nothing(service, people, outlet):
    citizen = people.citizen()
    broken = service.with_settings(APPLICATION_ACCOUNTS_URL="http://127.0.0.1:9")
    response = broken.client().post(
        "/api/v1/applications",
        json={"outlet_id": outlet["outlet_id"], "applicant": citizen.applicant()},
        headers=citizen.headers,
    )
    problem(response, 503)
    assert applications_of(service, citizen.account_id) == []
    broken.database.dispose()


def test_submit_lists_exactly_what_is_missing(client, people, outlet):
    citizen = people.citizen()
    application_id = create_application(client, citizen, outlet)["application_id"]
    submit = f"/api/v1/applications/{application_id}/submit"

    body = problem(client.post(submit, headers=citizen.headers), 409)
    assert body["missing"] == ["photo", "id_card_front", "id_card_back"]

    upload(client, citizen, application_id, "id_card_front", images.id_card_front(), "image/png")
    body = problem(client.post(submit, headers=citizen.headers), 409)
    assert body["missing"] == ["photo", "id_card_back"]

    upload(client, citizen, application_id, "photo", images.card_photo(), "image/jpeg")
    body = problem(client.post(submit, headers=citizen.headers), 409)
    assert body["missing"] == ["id_card_back"]
    status = client.get(f"/api/v1/applications/{application_id}", headers=citizen.headers)
    assert status.get_json()["status"] == "draft"


def test_submit_assigns_an_acceptance_number_and_publishes_claim_checks(
    service, client, people, outlet
):
    citizen = people.citizen()
    application_id = complete_draft(client, citizen, outlet)["application_id"]

    response = client.post(f"/api/v1/applications/{application_id}/submit", headers=citizen.headers)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "submitted"
    assert re.fullmatch(r"SSC-\d{8}-[2-9A-HJ-NP-Z]{6}", body["acceptance_number"])

    [event] = [
        e for e in outbox(service, "application.submitted") if e["subject"] == application_id
    ]
    assert event["correlationid"] == application_id
    data = event["data"]
    assert data["acceptance_number"] == body["acceptance_number"]
    assert data["account_id"] == citizen.account_id
    assert data["bank_code"] == outlet["bank_code"] and data["outlet_id"] == outlet["outlet_id"]
    assert data["applicant"]["id_number"] == citizen.id_number  # verification needs it in full
    assert data["photo_source"] == "upload"
    expected = {
        "photo": (images.card_photo("obama"), "image/jpeg"),
        "id_card_front": (images.id_card_front("obama"), "image/png"),
        "id_card_back": (images.id_card_back(), "image/png"),
    }
    for kind, (content, content_type) in expected.items():
        reference = data["files"][kind]
        sha256 = hashlib.sha256(content).hexdigest()  # these fixtures carry no metadata
        assert reference == {
            "url": claim_check_url(APPLICATION_URL, sha256),
            "sha256": sha256,
            "content_type": content_type,
        }

    view = client.get(f"/api/v1/applications/{application_id}", headers=citizen.headers).get_json()
    assert_documented_shape(view)
    assert view["status"] == "submitted" and view["missing"] == []
    assert view["acceptance_number"] == body["acceptance_number"]
    assert [entry["status"] for entry in view["timeline"]] == ["draft", "submitted"]


def test_a_submitted_application_cannot_change_or_be_submitted_again(client, people, outlet):
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    application_id = application["application_id"]
    problem(
        client.post(f"/api/v1/applications/{application_id}/submit", headers=citizen.headers), 409
    )
    replaced = upload(
        client, citizen, application_id, "photo", images.card_photo("biden"), "image/jpeg"
    )
    problem(replaced, 409)


def test_a_retried_submit_with_the_same_key_is_answered_again(service, client, people, outlet):
    citizen = people.citizen()
    application_id = complete_draft(client, citizen, outlet)["application_id"]
    headers = {**citizen.headers, "Idempotency-Key": "submit-1"}
    first = client.post(f"/api/v1/applications/{application_id}/submit", headers=headers)
    again = client.post(f"/api/v1/applications/{application_id}/submit", headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    events = [e for e in outbox(service, "application.submitted") if e["subject"] == application_id]
    assert len(events) == 1


def test_cancelling_publishes_application_cancelled(service, client, people, outlet):
    citizen = people.citizen()
    application_id = submitted_application(client, citizen, outlet)["application_id"]
    response = client.post(f"/api/v1/applications/{application_id}/cancel", headers=citizen.headers)
    assert response.status_code == 202
    assert response.get_json() == {"application_id": application_id, "status": "cancelled"}
    [event] = [
        e for e in outbox(service, "application.cancelled") if e["subject"] == application_id
    ]
    assert event["data"] == {"application_id": application_id, "account_id": citizen.account_id}
    assert event["correlationid"] == application_id
    view = client.get(f"/api/v1/applications/{application_id}", headers=citizen.headers).get_json()
    assert [entry["status"] for entry in view["timeline"]] == ["draft", "submitted", "cancelled"]
    problem(
        client.post(f"/api/v1/applications/{application_id}/cancel", headers=citizen.headers), 409
    )


def test_once_sent_to_print_an_application_cannot_be_cancelled(service, client, people, outlet):
    citizen = people.citizen()
    application_id = submitted_application(client, citizen, outlet)["application_id"]
    with UnitOfWork(service.database, "application") as uow:
        application = dao_get_application(uow.session, application_id)
        for minute, status in ((1, Status.APPROVED), (2, Status.PRINT_REQUESTED)):
            fact = ProgressFact(status, at(minute), status.value, card_id=str(uuid.uuid4()))
            record_progress(
                uow,
                service.deps,
                application_id=application.application_id,
                account_id=application.account_id,
                event_id=str(uuid.uuid4()),
                event_type=f"test.{status.value}",
                fact=fact,
            )
        uow.commit()
    response = client.post(f"/api/v1/applications/{application_id}/cancel", headers=citizen.headers)
    assert "print_requested" in problem(response, 409)["detail"]
    assert outbox(service, "application.cancelled") == [] or all(
        e["subject"] != application_id for e in outbox(service, "application.cancelled")
    )


def test_another_citizen_can_neither_read_nor_change_nor_submit_it(service, client, people, outlet):
    owner, intruder = people.citizen(), people.citizen()
    application_id = complete_draft(client, owner, outlet)["application_id"]
    base = f"/api/v1/applications/{application_id}"
    attempts = [
        client.get(base, headers=intruder.headers),
        client.get(f"{base}/default-photo", headers=intruder.headers),
        upload(client, intruder, application_id, "photo", images.card_photo("biden"), "image/jpeg"),
        upload(
            client,
            intruder,
            application_id,
            "id_card_front",
            images.id_card_front("biden"),
            "image/png",
        ),
        client.put(f"{base}/photo", json={"source": "on_file"}, headers=intruder.headers),
        client.post(f"{base}/submit", headers=intruder.headers),
        client.post(f"{base}/cancel", headers=intruder.headers),
    ]
    for response in attempts:
        body = problem(response, 404)
        assert body["detail"] == "No such resource."
    assert client.get("/api/v1/applications", headers=intruder.headers).get_json() == {"items": []}
    view = client.get(base, headers=owner.headers).get_json()
    assert view["status"] == "draft"
    assert view["photo_source"] == "upload"
    # The owner's files are untouched: submitting publishes the owner's own photo.
    assert client.post(f"{base}/submit", headers=owner.headers).status_code == 202
    [event] = [
        e for e in outbox(service, "application.submitted") if e["subject"] == application_id
    ]
    assert (
        event["data"]["files"]["photo"]["sha256"]
        == hashlib.sha256(images.card_photo("obama")).hexdigest()
    )


def test_an_unknown_application_is_404_and_a_malformed_id_too(client, people):
    citizen = people.citizen()
    problem(client.get(f"/api/v1/applications/{uuid.uuid4()}", headers=citizen.headers), 404)
    problem(client.get("/api/v1/applications/not-a-uuid", headers=citizen.headers), 404)


def test_staff_roles_and_anonymous_callers_are_kept_out(client, token_authority, outlet):
    problem(client.get("/api/v1/applications"), 401)
    problem(client.get("/api/v1/applications", headers=token_authority.reviewer()), 403)
    problem(client.post("/api/v1/applications", json={}, headers=token_authority.admin()), 403)


def test_outlets_are_listed_publicly(service, client):
    inactive = add_outlet(service.database, active=False)
    active = add_outlet(service.database, bank_code="CCB")
    items = client.get("/api/v1/outlets").get_json()["items"]
    ids = {item["outlet_id"] for item in items}
    assert active["outlet_id"] in ids and inactive["outlet_id"] not in ids
    [listed] = [item for item in items if item["outlet_id"] == active["outlet_id"]]
    assert listed == {key: active[key] for key in listed}
    assert set(listed) == {"outlet_id", "bank_code", "bank_name", "name", "district", "address"}


def test_a_random_id_number_generator_makes_valid_numbers():
    from shared.personal_data.resident_id import is_valid_resident_id

    assert all(is_valid_resident_id(new_id_number()) for _ in range(50))


def test_the_database_being_down_is_a_503_not_a_500(service, people, outlet):
    citizen = people.citizen()
    down = service.with_settings(APPLICATION_DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    client = down.client()
    response = client.get(f"/api/v1/applications/{uuid.uuid4()}", headers=citizen.headers)
    problem(response, 503)
    query = {"acceptance_number": "SSC-20261125-7K3Q9M", "name": citizen.name}
    problem(client.get("/api/v1/progress", query_string=query), 503)


@pytest.mark.skipif(database_backend() != "postgresql", reason="PostgreSQL connections only")
def test_a_read_survives_its_pooled_connection_being_cut(service, client, people, outlet):
    citizen = people.citizen()
    application_id = create_application(client, citizen, outlet)["application_id"]
    path = f"/api/v1/applications/{application_id}"
    assert client.get(path, headers=citizen.headers).status_code == 200
    with service.database.engine.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        connection.commit()
    assert client.get(path, headers=citizen.headers).status_code == 200
