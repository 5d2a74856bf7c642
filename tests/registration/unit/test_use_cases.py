"""The registration service's use cases on its real tables in SQLite memory, with fake
passwords and a settable clock: what each command stores, what it publishes through the
outbox, and what it refuses. No broker, no server, no web app."""

from __future__ import annotations

import json

import jwt
import pytest
from sqlalchemy import select

from services.registration.domain.accounts import ACCOUNT_REGISTERED, AccountExists
from services.registration.domain.coded_errors import (
    AddressThrottled,
    CodeResendThrottled,
    IdentityNotConfirmed,
    PhoneNotConfirmed,
)
from services.registration.domain.limits import AddressLimit, LimitedAction
from services.registration.domain.throttle import LoginThrottled
from services.registration.models import ID_NUMBER_COLUMN, Account, LoginFailure, PhoneCode
from services.registration.use_cases import (
    accounts,
    identity,
    limits,
    phone_codes,
    sessions,
    tokens,
)
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput, NotFound, TransientError, Unauthorized
from shared.testing.tokens import TEST_SERVICE_SECRET
from tests.registration.factories import (
    PASSWORD,
    FakePasswords,
    citizen,
    code_in,
    memory_deps,
    next_id_number,
    next_phone,
)


@pytest.fixture
def deps(tmp_path):
    deps = memory_deps(tmp_path)
    yield deps
    deps.database.dispose()


def run(deps, use_case, **arguments):
    """One use case in its own unit of work, committed as the edge would on success."""
    with UnitOfWork(deps.database, deps.settings.service) as uow:
        result = use_case(uow, deps, **arguments)
        uow.commit()
    return result


def stored_accounts(deps) -> list[Account]:
    with deps.database.session_factory() as session:
        return list(session.scalars(select(Account)))


def outbox_events(deps) -> list[dict]:
    table = deps.database.outbox.table
    with deps.database.session_factory() as session:
        return [json.loads(row.body) for row in session.execute(select(table))]


def failures(deps, phone: str) -> int:
    with deps.database.session_factory() as session:
        return len(list(session.scalars(select(LoginFailure).where(LoginFailure.phone == phone))))


def claims_of(issued: dict) -> dict:
    return jwt.decode(issued["access_token"], options={"verify_signature": False})


def proven_code(deps, phone: str, purpose: str = "register"):
    """Asks for a code, reads it from the texts and checks it, as the edge does."""
    run(deps, phone_codes.request_phone_code, phone=phone, purpose=purpose)
    deps.clock.advance(61)  # the next code for this phone may be asked for at once
    code = code_in(deps.sms.texts_to(phone)[0])
    return run(deps, phone_codes.check_phone_code, phone=phone, purpose=purpose, code=code)


def register(deps, **body):
    """Registers as a person does: on file with the registry, the phone theirs, a code."""
    deps.registry.add(body["id_number"], body["name"].strip())
    deps.carrier.own(body["phone"], body["name"].strip(), body["id_number"])
    return run(deps, accounts.register_citizen, code=proven_code(deps, body["phone"]), **body)


# Registering and creating accounts


def test_registering_stores_the_citizen_and_publishes_account_registered(deps):
    body = citizen(id_number=next_id_number(ending="X").lower(), name=" 张三 ")
    details = register(deps, **body)

    (row,) = stored_accounts(deps)
    assert (row.account_id, row.phone, row.name, row.role) == (
        details["account_id"],
        body["phone"],
        "张三",
        "citizen",
    )
    assert row.password_hash == FakePasswords().hash(PASSWORD)
    id_number = deps.cipher.decrypt(row.id_number_encrypted, column=ID_NUMBER_COLUMN)
    assert id_number == body["id_number"].upper()
    assert details["id_number_masked"] == id_number[:6] + "********" + id_number[-4:]
    (event,) = outbox_events(deps)
    assert event["type"] == ACCOUNT_REGISTERED
    assert event["subject"] == row.account_id
    assert event["data"] == {"account_id": row.account_id, "phone": row.phone, "name": "张三"}


def test_a_taken_phone_is_refused_and_changes_nothing_but_a_taken_id_number_is_not(deps):
    first = citizen()
    register(deps, **first)
    with pytest.raises(AccountExists) as same_phone:
        register(deps, **citizen(phone=first["phone"]))
    assert set(same_phone.value.errors) == {"phone"}
    assert len(stored_accounts(deps)) == len(outbox_events(deps)) == 1
    register(deps, **citizen(id_number=first["id_number"]))
    assert len(stored_accounts(deps)) == len(outbox_events(deps)) == 2


def test_an_account_that_breaks_a_rule_is_refused_before_anything_is_stored(deps):
    with pytest.raises(InvalidInput) as refused:
        register(deps, **citizen(password="12345678"))
    assert set(refused.value.errors) == {"password"}
    assert stored_accounts(deps) == [] and outbox_events(deps) == []


def test_staff_are_created_without_an_id_number_and_publish_nothing(deps):
    phone = next_phone()
    account_id = run(
        deps,
        accounts.create_staff_account,
        role="bank_operator",
        phone=phone,
        password=PASSWORD,
        name="王审核",
        bank_code="ICBC",
    )
    with deps.database.session_factory() as session:
        details = accounts.read_account(session, deps, account_id=account_id)
    assert details["roles"] == ["bank_operator"]
    assert (details["bank_code"], details["id_number_masked"]) == ("ICBC", None)
    assert outbox_events(deps) == []
    with pytest.raises(AccountExists):
        run(
            deps,
            accounts.create_staff_account,
            role="reviewer",
            phone=phone,
            password=PASSWORD,
            name="王审核",
        )


def test_reading_an_account_that_does_not_exist_is_not_found(deps):
    with deps.database.session_factory() as session, pytest.raises(NotFound):
        accounts.read_account(session, deps, account_id="4a4c5a1e-0000-4b53-9d57-000000000000")


# Logging in


def test_logging_in_gives_a_token_for_the_accounts_role_and_clears_the_count(deps):
    body = citizen()
    account_id = register(deps, **body)["account_id"]
    with pytest.raises(sessions.InvalidCredentials):
        run(deps, sessions.log_in, phone=body["phone"], password="wrong-password-1")
    assert failures(deps, body["phone"]) == 1  # counted although the answer was a 401

    issued = run(deps, sessions.log_in, phone=body["phone"], password=PASSWORD)
    claims = claims_of(issued)
    assert (claims["sub"], claims["roles"]) == (account_id, ["citizen"])
    assert issued["expires_in"] == 900
    assert failures(deps, body["phone"]) == 0


def test_an_unknown_phone_costs_a_verification_and_counts_as_a_failure(deps):
    phone = next_phone()
    with pytest.raises(sessions.InvalidCredentials):
        run(deps, sessions.log_in, phone=phone, password=PASSWORD)
    assert deps.passwords.verified == [None]
    assert failures(deps, phone) == 1


def test_five_failures_make_the_phone_wait_until_the_oldest_leaves_the_window(deps):
    body = citizen()
    register(deps, **body)
    for _ in range(5):
        with pytest.raises(sessions.InvalidCredentials):
            run(deps, sessions.log_in, phone=body["phone"], password="wrong-password-1")
        deps.clock.advance(1)
    with pytest.raises(LoginThrottled) as throttled:
        run(deps, sessions.log_in, phone=body["phone"], password=PASSWORD)
    assert throttled.value.retry_after == 900 - 5
    assert failures(deps, body["phone"]) == 5  # a throttled attempt is not counted

    deps.clock.advance(900 - 5 + 1)
    run(deps, sessions.log_in, phone=body["phone"], password=PASSWORD)


def test_a_hash_made_with_older_costs_is_upgraded_at_login(deps):
    body = citizen()
    register(deps, **body)
    deps.passwords.cost = 2
    run(deps, sessions.log_in, phone=body["phone"], password=PASSWORD)
    (row,) = stored_accounts(deps)
    assert row.password_hash == FakePasswords(cost=2).hash(PASSWORD)


# Identity checks and tokens


def test_an_identity_check_compares_the_name_and_the_full_id_number(deps):
    body = citizen()
    account_id = register(deps, **body)["account_id"]
    with deps.database.session_factory() as session:
        same = identity.check_identity(
            session, deps, account_id=account_id, name=" 张三 ", id_number=body["id_number"]
        )
        other = identity.check_identity(
            session, deps, account_id=account_id, name="张三", id_number=next_id_number()
        )
        with pytest.raises(NotFound):
            identity.check_identity(
                session, deps, account_id=next_phone(), name="张三", id_number=body["id_number"]
            )
    assert same == {"match": True}
    assert other == {"match": False}


def test_service_tokens_go_to_known_clients_with_the_secret_only(deps):
    issued = tokens.issue_service_token(deps, client="printing", secret=TEST_SERVICE_SECRET)
    assert claims_of(issued)["sub"] == "service:printing"
    assert issued["expires_in"] == 300
    for client, secret in (("printing", "wrong"), ("stranger", TEST_SERVICE_SECRET), (None, "")):
        with pytest.raises(Unauthorized):
            tokens.issue_service_token(deps, client=client, secret=secret)


def test_the_verification_keys_are_the_rings_public_keys(deps):
    (key,) = tokens.verification_keys(deps)["keys"]
    assert key == deps.keys.current().public_jwk()
    assert "d" not in key


# Phone codes, the registry and the carrier, per-address limits


def test_a_code_is_texted_and_kept_only_as_an_hmac(deps):
    phone = next_phone()
    answer = run(deps, phone_codes.request_phone_code, phone=phone, purpose="register")
    assert answer == {"expires_in": 300, "resend_after": 60}
    (text,) = deps.sms.texts_to(phone)
    code = code_in(text)
    with deps.database.session_factory() as session:
        (row,) = session.scalars(select(PhoneCode))
    assert code not in row.code_hmac and row.failed_attempts == 0


def test_a_reset_code_goes_only_to_a_citizen_and_the_answer_is_the_same(deps):
    body = citizen()
    register(deps, **body)
    deps.clock.advance(61)
    stranger = next_phone()
    answers = [
        run(deps, phone_codes.request_phone_code, phone=phone, purpose="reset_password")
        for phone in (body["phone"], stranger)
    ]
    assert answers[0] == answers[1]
    assert len(deps.sms.texts_to(body["phone"])) == 2
    assert deps.sms.texts_to(stranger) == []


def test_wrong_tries_count_and_the_fifth_kills_the_code(deps):
    phone = next_phone()
    run(deps, phone_codes.request_phone_code, phone=phone, purpose="register")
    code = code_in(deps.sms.texts_to(phone)[0])
    wrong = next(f"{n:06d}" for n in range(10) if f"{n:06d}" != code)
    for _ in range(5):
        assert (
            run(deps, phone_codes.check_phone_code, phone=phone, purpose="register", code=wrong)
            is None
        )
    assert (
        run(deps, phone_codes.check_phone_code, phone=phone, purpose="register", code=code) is None
    )


def test_a_phone_waits_a_minute_between_codes(deps):
    phone = next_phone()
    run(deps, phone_codes.request_phone_code, phone=phone, purpose="register")
    deps.clock.advance(59)
    with pytest.raises(CodeResendThrottled) as throttled:
        run(deps, phone_codes.request_phone_code, phone=phone, purpose="register")
    assert throttled.value.retry_after == 1


def test_registry_down_creates_nothing_and_keeps_the_code(deps):
    body = citizen()
    deps.registry.add(body["id_number"], body["name"])
    deps.carrier.own(body["phone"], body["name"], body["id_number"])
    code = proven_code(deps, body["phone"])
    deps.registry.down = True
    with pytest.raises(TransientError):
        run(deps, accounts.register_citizen, code=code, **body)
    assert stored_accounts(deps) == [] and outbox_events(deps) == []
    deps.registry.down = False
    run(deps, accounts.register_citizen, code=code, **body)
    assert len(stored_accounts(deps)) == 1


def test_the_registry_and_the_carrier_must_each_confirm(deps):
    body = citizen()
    deps.carrier.own(body["phone"], body["name"], body["id_number"])
    with pytest.raises(IdentityNotConfirmed):
        run(deps, accounts.register_citizen, code=proven_code(deps, body["phone"]), **body)
    deps.registry.add(body["id_number"], body["name"])
    deps.carrier.own(body["phone"], "李四", body["id_number"])
    with pytest.raises(PhoneNotConfirmed):
        run(deps, accounts.register_citizen, code=proven_code(deps, body["phone"]), **body)
    assert stored_accounts(deps) == [] and outbox_events(deps) == []


def test_an_address_meets_its_limit_and_another_does_not(deps):
    deps.address_limit = AddressLimit(limit=2)
    for _ in range(2):
        run(deps, limits.count_address_attempt, address="10.1.1.1", action=LimitedAction.LOGIN)
    with pytest.raises(AddressThrottled) as throttled:
        run(deps, limits.count_address_attempt, address="10.1.1.1", action=LimitedAction.LOGIN)
    assert throttled.value.retry_after == 3600
    run(deps, limits.count_address_attempt, address="10.1.1.1", action=LimitedAction.ACCOUNT)
    run(deps, limits.count_address_attempt, address="10.1.1.2", action=LimitedAction.LOGIN)
    deps.clock.advance(3600)
    run(deps, limits.count_address_attempt, address="10.1.1.1", action=LimitedAction.LOGIN)
