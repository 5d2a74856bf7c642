"""A full ID number never leaves the registration service: not in a response, not in a log
line, not in an event, across registration, retries, conflicts, login and /me."""

from __future__ import annotations

import logging

from tests.registration.factories import bearer, log_in, outbox_rows, ready_citizen

ID_NUMBER = "34052419800101001X"


def forms_of(id_number: str) -> tuple[str, ...]:
    """The number as given, lower-cased, and its 17 body digits alone."""
    return id_number, id_number.lower(), id_number[:17]


def test_the_full_id_number_appears_in_no_response_log_line_or_event(client, app, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    body = ready_citizen(client, id_number=ID_NUMBER.lower())
    responses = [
        client.post("/api/v1/accounts", json=body, headers={"Idempotency-Key": "first-try"}),
        client.post("/api/v1/accounts", json=body, headers={"Idempotency-Key": "first-try"}),
        client.post("/api/v1/accounts", json=body),  # 422: the code is used up
        client.post("/api/v1/accounts", json={**body, "phone": "13999999999"}),  # 422: no code
        client.post("/api/v1/accounts", json={**body, "password": ID_NUMBER}),  # 422
        client.post("/api/v1/accounts", json={**body, "id_number": ID_NUMBER[:-1] + "1"}),  # 422
        log_in(client, body["phone"], "wrong-password-1"),
    ]
    login = log_in(client, body["phone"], body["password"])
    responses.append(login)
    responses.append(
        client.get("/api/v1/accounts/me", headers=bearer(login.get_json()["access_token"]))
    )
    responses.append(client.get("/.well-known/jwks.json"))
    assert [r.status_code for r in responses] == [201, 201, 422, 422, 422, 422, 401, 200, 200, 200]
    assert responses[-2].get_json()["id_number_masked"] == "340524********001X"

    texts = [r.get_data(as_text=True) + str(r.headers) for r in responses]
    assert caplog.records, "the flow logs something, so the check below means something"
    texts += [record.getMessage() for record in caplog.records]
    texts.append(caplog.text)
    captured = capfd.readouterr()
    texts += [captured.out, captured.err]
    texts += [row.body for row in outbox_rows(app)]
    for text in texts:
        for form in forms_of(ID_NUMBER):
            assert form not in text
