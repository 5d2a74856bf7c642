"""POST /internal/v1/accounts/{id}/identity-check: the application service asks whether the
caller's account is a confirmed account with the applicant's real name and ID number (one
verdict, `{match}`); only services may ask."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from services.registration.models import Account
from shared.auth.service_tokens import ServiceTokenClient
from tests.registration.factories import assert_problem, log_in, register


def check(client, headers, account_id, **claim):
    return client.post(
        f"/internal/v1/accounts/{account_id}/identity-check", json=claim, headers=headers
    )


def service_headers(settings, live_url):
    return ServiceTokenClient(live_url, "application", settings.internal_secret()).headers()


def test_the_account_holders_own_name_and_number_match(settings, client, live_url):
    created, body = register(client)
    account_id = created.get_json()["account_id"]
    headers = service_headers(settings, live_url)

    same = check(
        client, headers, account_id, name=body["name"], id_number=body["id_number"].lower()
    )
    assert same.status_code == 200
    assert same.get_json() == {"match": True}

    other_number = register(client)[1]["id_number"]
    wrong = check(client, headers, account_id, name=body["name"], id_number=other_number)
    assert wrong.get_json() == {"match": False}
    # Same first six and last four would fool a comparison of masked numbers; not this one.
    assert body["id_number"] not in wrong.get_data(as_text=True)
    renamed = check(client, headers, account_id, name="李四", id_number=body["id_number"])
    assert renamed.get_json() == {"match": False}


def test_an_account_made_before_identities_were_confirmed_never_matches(
    settings, app, client, live_url
):
    created, body = register(client)
    account_id = created.get_json()["account_id"]
    with app.extensions["sscard"].database.session_factory() as session:
        session.execute(
            update(Account)
            .where(Account.account_id == account_id)
            .values(identity_confirmed_at=None, phone_proven_at=None)
        )
        session.commit()
    headers = service_headers(settings, live_url)
    claim = {"name": body["name"], "id_number": body["id_number"]}
    assert check(client, headers, account_id, **claim).get_json() == {"match": False}


def test_only_services_may_ask_and_unknown_accounts_are_404(
    settings, client, live_url, token_authority
):
    created, body = register(client)
    account_id = created.get_json()["account_id"]
    claim = {"name": body["name"], "id_number": body["id_number"]}
    assert_problem(check(client, {}, account_id, **claim), 401)
    token = log_in(client, body["phone"]).get_json()["access_token"]
    citizen = {"Authorization": f"Bearer {token}"}
    assert_problem(check(client, citizen, account_id, **claim), 403)
    headers = service_headers(settings, live_url)
    assert_problem(check(client, headers, str(uuid.uuid4()), **claim), 404)
    assert_problem(check(client, headers, account_id, name=body["name"]), 422)
