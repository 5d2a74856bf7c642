"""POST /api/v1/accounts and GET /api/v1/accounts/me through the HTTP API."""

from __future__ import annotations

from sqlalchemy import select

from services.registration import deps
from services.registration.models import ID_NUMBER_COLUMN, Account
from services.registration.use_cases import accounts as account_use_cases
from tests.registration.factories import (
    VALID_ID_NUMBERS,
    assert_problem,
    bearer,
    count_rows,
    next_id_number,
    outbox_rows,
    register,
    registered_token,
)

INVALID_ID_NUMBERS = {
    "bad check character": "110105194912310021",
    "bad check character (X expected)": "110105194912310029",
    "impossible date (30 February)": "110105200002300012",
    "impossible month": "110105200013010012",
    "future birth date": "110105209901010010",
    "17 characters": "11010519491231002",
    "19 characters": "11010519491231002XX",
    "letters inside": "1101051949A231002X",
    "X not at the end": "X10105194912310020",
    "unknown region": "990105194912310020",
    "spaces inside": "110105 19491231002",
    "empty": "",
}


def stored_account(app, phone: str) -> Account:
    with app.extensions["sscard"].database.session_factory() as session:
        return session.scalar(select(Account).where(Account.phone == phone))


def test_the_valid_examples_of_the_domain_are_accepted_and_masked(client, app):
    """Every example of docs/domain.md; the first given with a lower-case x."""
    bodies = []
    for id_number in (VALID_ID_NUMBERS[0].lower(), *VALID_ID_NUMBERS[1:]):
        response, body = register(client, id_number=id_number, name=" 张三 ")
        assert response.status_code == 201, (id_number, response.get_json())
        account = response.get_json()
        assert set(account) == {"account_id", "phone", "name", "id_number_masked"}
        assert account["phone"] == body["phone"]
        assert account["name"] == "张三"
        assert account["id_number_masked"] == id_number[:6] + "********" + id_number[-4:].upper()
        bodies.append(body)
    row = stored_account(app, bodies[0]["phone"])
    assert row.role == "citizen"
    assert row.password_hash.startswith("$argon2id$")
    with app.app_context():
        stored = deps.current().cipher.decrypt(row.id_number_encrypted, column=ID_NUMBER_COLUMN)
    assert stored == "11010519491231002X"  # lower-case x accepted, kept upper-case


def test_invalid_id_numbers_are_a_422_on_that_field_and_store_nothing(client, app):
    accounts_before, events_before = count_rows(app, Account.__table__), len(outbox_rows(app))
    for why, id_number in INVALID_ID_NUMBERS.items():
        response, _ = register(client, id_number=id_number)
        problem = assert_problem(response, 422)
        assert set(problem["errors"]) == {"id_number"}, why
        assert problem["errors"]["id_number"][0], why
    assert count_rows(app, Account.__table__) == accounts_before
    assert len(outbox_rows(app)) == events_before


def test_every_other_bad_field_is_named_in_the_422(client):
    x_number = next_id_number(ending="X")
    cases = [
        ({"phone": "12800138000"}, "phone"),
        ({"phone": "1380013800"}, "phone"),
        ({"phone": 13800138000}, "phone"),
        ({"name": "张"}, "name"),
        ({"name": "张三3"}, "name"),
        ({"name": "·张三"}, "name"),
        ({"name": "张" * 31}, "name"),
        ({"password": "short1"}, "password"),
        ({"password": "1234567890"}, "password"),
        ({"phone": "13912345678", "password": "13912345678"}, "password"),
        ({"id_number": x_number.lower(), "password": x_number.lower()}, "password"),
    ]
    for overrides, field in cases:
        response, _ = register(client, **overrides)
        problem = assert_problem(response, 422)
        assert set(problem["errors"]) == {field}, (overrides, problem)


def test_missing_fields_and_malformed_bodies_are_problems_not_errors(client):
    problem = assert_problem(client.post("/api/v1/accounts", json={}), 422)
    assert set(problem["errors"]) == {"phone", "code", "password", "name", "id_number"}
    malformed = client.post(
        "/api/v1/accounts", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(malformed, 400)
    assert_problem(client.post("/api/v1/accounts", data="x", content_type="text/plain"), 415)


def test_the_public_api_cannot_create_staff(client):
    response, _ = register(client, role="admin")
    assert "role" in assert_problem(response, 422)["errors"]
    token, _, _ = registered_token(client)
    me = client.get("/api/v1/accounts/me", headers=bearer(token)).get_json()
    assert me["roles"] == ["citizen"]


def test_a_phone_that_has_an_account_is_a_409(client):
    first, body = register(client)
    assert first.status_code == 201
    again, _ = register(client, phone=body["phone"])
    assert set(assert_problem(again, 409)["errors"]) == {"phone"}


def test_an_id_number_that_has_an_account_does_not_block_another_whatever_the_case_of_x(client):
    """Whoever registered a person's ID number first never keeps that person out: a second
    account with the same number (its own proven phone) is a 201 too."""
    id_number = next_id_number(ending="X")
    first, _ = register(client, id_number=id_number)
    again, _ = register(client, id_number=id_number.lower())
    assert (first.status_code, again.status_code) == (201, 201), again.get_data(as_text=True)
    assert first.get_json()["account_id"] != again.get_json()["account_id"]
    assert again.get_json()["id_number_masked"] == first.get_json()["id_number_masked"]


def test_the_database_itself_refuses_a_second_account_for_a_phone(client, app, monkeypatch):
    """Two concurrent registrations both pass the check in code; the unique constraint on the
    phone still lets only one of them in. The ID number is not unique in the database (issue
    16: whoever registered another person's number must never block that person; the proven
    account locks the others, use_cases.account_states)."""
    monkeypatch.setattr(account_use_cases, "dao_phone_has_account", lambda *_args: False)
    accounts_before, events_before = count_rows(app, Account.__table__), len(outbox_rows(app))
    _, first = register(client)
    same_phone, _ = register(client, phone=first["phone"])
    assert set(assert_problem(same_phone, 409)["errors"]) == {"phone"}
    assert count_rows(app, Account.__table__) == accounts_before + 1
    assert len(outbox_rows(app)) == events_before + 1
    same_id_number, _ = register(client, id_number=first["id_number"])
    assert same_id_number.status_code == 201
    assert count_rows(app, Account.__table__) == accounts_before + 2


def test_the_id_number_is_stored_encrypted_and_indexed_blindly(client, app):
    _, body = register(client)
    with app.extensions["sscard"].database.session_factory() as session:
        row = session.execute(select(Account.__table__).where(Account.phone == body["phone"])).one()
    stored = " ".join(str(value) for value in row)
    assert body["id_number"][:17] not in stored
    assert row.id_number_index != body["id_number"]


def test_me_returns_the_callers_own_account(client):
    token, body, account = registered_token(client)
    other_token, _, other = registered_token(client)
    response = client.get("/api/v1/accounts/me", headers=bearer(token))
    assert response.status_code == 200
    me = response.get_json()
    assert me["account_id"] == account["account_id"]
    assert me["phone"] == body["phone"]
    assert me["id_number_masked"] == body["id_number"][:6] + "********" + body["id_number"][-4:]
    assert me["roles"] == ["citizen"]
    assert me["bank_code"] is None
    assert me["created_at"].endswith("Z")
    other_me = client.get("/api/v1/accounts/me", headers=bearer(other_token)).get_json()
    assert other_me["account_id"] == other["account_id"]


def test_me_needs_a_person_token_for_an_existing_account(client, app):
    assert_problem(client.get("/api/v1/accounts/me"), 401)
    assert_problem(client.get("/api/v1/accounts/me", headers=bearer("not-a-token")), 401)
    with app.app_context():
        issuer = deps.current().tokens
        service_token = issuer.for_service("application")["access_token"]
        ghost = issuer.for_account("4a4c5a1e-1d52-4b53-9d57-000000000000", "citizen", None)
    assert_problem(client.get("/api/v1/accounts/me", headers=bearer(service_token)), 403)
    assert_problem(client.get("/api/v1/accounts/me", headers=bearer(ghost["access_token"])), 404)
