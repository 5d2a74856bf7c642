"""One rule for bank codes: a staff account's bank code is kept in capitals, so an operator
created as `icbc` sees the cards of ICBC; what the rule refuses is refused here as in printing."""

from __future__ import annotations

import jwt
import pytest

from services.registration.domain.accounts import create_staff
from shared.errors import InvalidInput
from tests.registration.factories import PlainHasher, memory_deps

STAFF = {"phone": "13900000000", "password": "staff-pass-1", "name": "王五"}


@pytest.mark.parametrize("given", ["icbc", "Icbc", " ICBC "])
def test_a_bank_code_is_kept_in_capitals(given):
    operator = create_staff(role="bank_operator", bank_code=given, passwords=PlainHasher(), **STAFF)
    assert operator.bank_code == "ICBC"


@pytest.mark.parametrize("bad", ["IC_BC", "1CBC", "A" * 17, "icbc.#", "工行"])
def test_what_printing_refuses_registration_refuses(bad):
    with pytest.raises(InvalidInput) as caught:
        create_staff(role="bank_operator", bank_code=bad, passwords=PlainHasher(), **STAFF)
    assert set(caught.value.errors) == {"bank_code"}


def test_an_operator_recorded_in_lower_case_gets_a_token_in_capitals(tmp_path):
    deps = memory_deps(tmp_path)
    try:
        issued = deps.tokens.for_account("some-account", "bank_operator", "icbc")
        claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
        assert claims["bank_code"] == "ICBC"
    finally:
        deps.database.dispose()
