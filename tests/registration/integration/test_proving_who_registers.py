"""Proving who registers, over HTTP against the real identity registry and SMS gateway (with
its carrier check) simulators: texted codes, the registry's confirmation of name + ID number,
the carrier's confirmation that the phone is that person's, the per-phone and per-address
limits, password resets, and that an impostor with a leaked name + ID number gets nowhere
while the real person always can register."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.registration.dao import dao_insert_account
from services.registration.domain.accounts import register_citizen
from services.registration.models import Account, PhoneCode
from tests.registration.factories import (
    PASSWORD,
    PlainHasher,
    ask_code,
    assert_problem,
    citizen,
    count_rows,
    latest_code,
    log_in,
    next_id_number,
    next_phone,
    outbox_rows,
    ready_citizen,
    register,
)


def post_account(client, body, **kwargs):
    return client.post("/api/v1/accounts", json=body, **kwargs)


def codes_of(app, phone: str) -> list[PhoneCode]:
    with app.extensions["sscard"].database.session_factory() as session:
        return list(session.scalars(select(PhoneCode).where(PhoneCode.phone == phone)))


def nothing_more_stored(app, accounts_before: int, events_before: int) -> bool:
    return (count_rows(app, Account.__table__), len(outbox_rows(app))) == (
        accounts_before,
        events_before,
    )


def coded(response, status: int, code: str) -> dict:
    problem = assert_problem(response, status)
    assert problem["code"] == code, problem
    return problem


# Codes


def test_a_wrong_code_is_refused_and_the_right_one_then_still_works(client):
    body = ready_citizen(client)
    wrong = "000000" if body["code"] != "000000" else "111111"
    problem = coded(post_account(client, {**body, "code": wrong}), 422, "code_invalid")
    assert problem["type"].endswith("/code-invalid")
    assert set(problem["errors"]) == {"code"}
    assert post_account(client, body).status_code == 201


def test_an_expired_code_is_refused(client, clock):
    body = ready_citizen(client)
    clock.advance(301)
    coded(post_account(client, body), 422, "code_invalid")


def test_a_used_code_is_refused(client, app):
    first = ready_citizen(client)
    assert post_account(client, first).status_code == 201
    # The same phone and code again, and the code on another registration of that phone.
    coded(post_account(client, first), 422, "code_invalid")
    coded(post_account(client, {**first, "id_number": next_id_number()}), 422, "code_invalid")
    (row,) = codes_of(app, first["phone"])
    assert row.used_at is not None


def test_five_wrong_tries_kill_a_code(client):
    body = ready_citizen(client)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != body["code"]][:5]
    for guess in wrong:
        coded(post_account(client, {**body, "code": guess}), 422, "code_invalid")
    # The wrong tries were counted although each answer rolled its own request back.
    coded(post_account(client, body), 422, "code_invalid")


def test_a_new_code_replaces_the_old_one(client):
    body = ready_citizen(client)
    assert ask_code(client, body["phone"]).status_code == 202
    fresh = latest_code(client, body["phone"])
    if fresh != body["code"]:
        coded(post_account(client, body), 422, "code_invalid")
    assert post_account(client, {**body, "code": fresh}).status_code == 201


def test_codes_are_kept_only_as_hmacs(client, app):
    body = ready_citizen(client)
    (row,) = codes_of(app, body["phone"])
    assert body["code"] not in " ".join(str(value) for value in row.__dict__.values())
    assert len(row.code_hmac) == 64
    assert post_account(client, body).status_code == 201
    assert all(body["code"] not in row.body for row in outbox_rows(app))


def test_a_phone_gets_one_code_a_minute(client, limits, clock):
    limits(resend=60)
    phone = next_phone()
    assert ask_code(client, phone).status_code == 202
    clock.advance(20)
    again = ask_code(client, phone, "reset_password")
    coded(again, 429, "code_throttled")
    assert again.headers["Retry-After"] == "40"
    clock.advance(40)
    assert ask_code(client, phone).status_code == 202


def test_the_code_answer_is_the_same_for_phones_with_and_without_accounts(client, limits, clock):
    limits(resend=60)
    _, known = register(client)
    clock.advance(61)
    unknown = next_phone()
    for purpose in ("register", "reset_password"):
        answers = [ask_code(client, phone, purpose) for phone in (known["phone"], unknown)]
        assert [a.status_code for a in answers] == [202, 202]
        assert answers[0].get_data() == answers[1].get_data()  # byte for byte
        assert answers[0].headers["Content-Type"] == answers[1].headers["Content-Type"]
        # …and the per-phone throttle answers alike too.
        throttled = [ask_code(client, phone, purpose) for phone in (known["phone"], unknown)]
        assert [t.status_code for t in throttled] == [429, 429]
        assert throttled[0].get_data() == throttled[1].get_data()
        clock.advance(61)


def test_a_reset_code_is_texted_only_to_a_phone_with_an_account(client):
    _, known = register(client)
    unknown = next_phone()
    texts_before = len(outside_texts(client, known["phone"]))
    assert ask_code(client, known["phone"], "reset_password").status_code == 202
    assert ask_code(client, unknown, "reset_password").status_code == 202
    assert len(outside_texts(client, known["phone"])) == texts_before + 1
    assert outside_texts(client, unknown) == []


def outside_texts(client, phone):
    return client.application.config["SSCARD_TEST_OUTSIDE"].sms.texts_to(phone)


def test_a_gateway_that_does_not_take_the_text_is_a_503_and_keeps_nothing(client, app, outside):
    phone = next_phone()
    outside.sms.faults(status=503)
    try:
        refused = ask_code(client, phone)
    finally:
        outside.sms.faults()
    assert_problem(refused, 503)
    assert "Retry-After" in refused.headers
    assert codes_of(app, phone) == []


# Per-address limits


def test_code_requests_from_one_address_meet_429(client, limits):
    limits(address=3)
    address = {"REMOTE_ADDR": "10.0.0.1"}
    answers = [ask_code(client, next_phone(), environ_base=address) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    coded(answers[-1], 429, "address_throttled")
    assert 3500 < int(answers[-1].headers["Retry-After"]) <= 3600
    other = ask_code(client, next_phone(), environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 202


def test_account_creations_from_one_address_meet_429(client, limits):
    limits(address=2)
    address = {"REMOTE_ADDR": "10.0.1.1"}
    answers = [post_account(client, ready_citizen(client), environ_base=address) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert "Retry-After" in answers[-1].headers


def test_a_password_spray_over_100_phones_from_one_address_meets_429(client, limits):
    limits(address=20)  # the default
    address = {"REMOTE_ADDR": "10.0.2.1"}
    statuses = []
    for _ in range(100):
        response = client.post(
            "/api/v1/sessions",
            json={"phone": next_phone(), "password": "Password123"},
            environ_base=address,
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    assert "Retry-After" in response.headers
    # Another address is not affected.
    other = client.post(
        "/api/v1/sessions",
        json={"phone": next_phone(), "password": "Password123"},
        environ_base={"REMOTE_ADDR": "10.0.2.2"},
    )
    assert other.status_code == 401


# The registry and the carrier


def test_a_name_the_registry_does_not_confirm_is_refused(client, app, outside):
    accounts_before, events_before = count_rows(app, Account.__table__), len(outbox_rows(app))
    body = ready_citizen(client)
    outside.registry.add(body["id_number"], "李四")
    coded(post_account(client, body), 422, "identity_not_confirmed")
    unknown, _ = register(client, on_file=False)
    coded(unknown, 422, "identity_not_confirmed")
    assert nothing_more_stored(app, accounts_before, events_before)


def test_registry_down_is_a_503_with_nothing_created_and_the_code_kept(client, app, outside):
    body = ready_citizen(client)
    accounts_before, events_before = count_rows(app, Account.__table__), len(outbox_rows(app))
    outside.registry.faults(status=503)
    try:
        down = post_account(client, body)
    finally:
        outside.registry.faults()
    assert_problem(down, 503)
    assert "Retry-After" in down.headers
    assert nothing_more_stored(app, accounts_before, events_before)
    (row,) = codes_of(app, body["phone"])
    assert row.used_at is None
    # Back up: the same code registers.
    assert post_account(client, body).status_code == 201


def test_carrier_down_is_a_503_with_nothing_created(client, app, outside):
    body = ready_citizen(client)
    accounts_before, events_before = count_rows(app, Account.__table__), len(outbox_rows(app))
    outside.sms.faults(status=503)
    try:
        down = post_account(client, body)
    finally:
        outside.sms.faults()
    assert_problem(down, 503)
    assert nothing_more_stored(app, accounts_before, events_before)
    assert post_account(client, body).status_code == 201


def test_a_phone_not_registered_to_the_person_is_refused(client, app):
    accounts_before, events_before = count_rows(app, Account.__table__), len(outbox_rows(app))
    response, _ = register(client, own_phone=False)
    problem = coded(response, 422, "phone_not_confirmed")
    assert problem["type"].endswith("/phone-not-confirmed")
    assert nothing_more_stored(app, accounts_before, events_before)


def test_an_impostor_with_a_leaked_name_and_id_number_cannot_register(client, app, outside):
    victim = citizen(name="王小红")
    outside.file_person(victim["id_number"], victim["name"])
    impostor = citizen(name="赵大强")
    outside.file_person(impostor["id_number"], impostor["name"])
    # The impostor's own phone is registered with the carrier under the impostor's identity.
    outside.own_phone(impostor["phone"], impostor["name"], impostor["id_number"])
    accounts_before, events_before = count_rows(app, Account.__table__), len(outbox_rows(app))
    squat, _ = register(
        client,
        phone=impostor["phone"],
        name=victim["name"],
        id_number=victim["id_number"],
        own_phone=False,
        on_file=False,
    )
    coded(squat, 422, "phone_not_confirmed")
    assert nothing_more_stored(app, accounts_before, events_before)


def test_the_real_person_registers_although_another_account_holds_their_id_number(client, app):
    real = citizen(name="孙丽")
    squatter = register_citizen(
        phone=next_phone(),
        password=PASSWORD,
        name=real["name"],
        id_number=real["id_number"],
        passwords=PlainHasher(),
    )
    deps = app.extensions["sscard"].deps
    with app.extensions["sscard"].database.session_factory() as session:
        dao_insert_account(session, squatter, deps.cipher)  # e.g. made before this change
        session.commit()
    response, _ = register(client, **real)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["account_id"] != squatter.account_id


# Password resets


def reset(client, phone, code, new_password="new-secret-2", **kwargs):  # noqa: S107
    return client.post(
        "/api/v1/password-resets",
        json={"phone": phone, "code": code, "new_password": new_password},
        **kwargs,
    )


def test_a_password_is_reset_with_a_texted_code(client):
    _, body = register(client)
    assert log_in(client, body["phone"], "wrong-password-1").status_code == 401
    assert ask_code(client, body["phone"], "reset_password").status_code == 202
    code = latest_code(client, body["phone"])
    done = reset(client, body["phone"], code)
    assert done.status_code == 204 and done.get_data() == b""
    assert log_in(client, body["phone"], body["password"]).status_code == 401
    assert log_in(client, body["phone"], "new-secret-2").status_code == 200
    coded(reset(client, body["phone"], code, "another-secret-3"), 422, "code_invalid")


def test_a_register_code_does_not_reset_a_password(client):
    _, body = register(client)
    assert ask_code(client, body["phone"]).status_code == 202
    coded(reset(client, body["phone"], latest_code(client, body["phone"])), 422, "code_invalid")


def test_a_reset_for_a_phone_without_an_account_is_a_wrong_code(client):
    phone = next_phone()
    assert ask_code(client, phone, "reset_password").status_code == 202
    coded(reset(client, phone, "123456"), 422, "code_invalid")


@pytest.mark.parametrize("new_password", ["12345678", "short"])
def test_a_reset_password_follows_the_rules(client, new_password):
    _, body = register(client)
    assert ask_code(client, body["phone"], "reset_password").status_code == 202
    code = latest_code(client, body["phone"])
    problem = assert_problem(reset(client, body["phone"], code, new_password), 422)
    assert set(problem["errors"]) == {"new_password"}
