"""Bank account numbers: only the masked form is ever kept."""

from __future__ import annotations

import pytest

from services.printing.domain.bank_accounts import luhn_valid, masked_bank_account
from shared.errors import InvalidInput


def test_a_full_number_is_masked_on_arrival():
    account = masked_bank_account("6222 0212 3456 7890 128")
    assert account.masked == "622202*********0128"
    assert "1234567" not in account.masked


def test_luhn_and_non_unionpay_numbers_are_warnings_not_errors():
    assert luhn_valid("6222021234567890128")
    assert masked_bank_account("6222021234567890128").warnings == ()
    warned = masked_bank_account("4222021234567890123")
    assert len(warned.warnings) == 2
    assert warned.masked.startswith("422202")


def test_an_already_masked_number_is_kept_as_it_is():
    assert masked_bank_account("621700*********4321").masked == "621700*********4321"


@pytest.mark.parametrize(
    "value", ["62220212345678901234567", "622202", "6222021234567*****890", "not a number"]
)
def test_anything_else_is_refused(value):
    with pytest.raises(InvalidInput):
        masked_bank_account(value)
