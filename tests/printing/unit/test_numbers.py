"""Card serials and card identification codes."""

from __future__ import annotations

from datetime import date

import pytest

from services.printing.domain.numbers import (
    SERIAL_PATTERN,
    expiry_date,
    is_valid_identification_code,
    issue_date_now,
    mod37_36_check,
    new_card_serial,
    new_identification_code,
)


def test_a_card_serial_is_a_letter_and_eight_digits_and_they_differ():
    serials = {new_card_serial() for _ in range(500)}
    assert len(serials) == 500
    assert all(len(serial) == 9 and SERIAL_PATTERN.match(serial) for serial in serials)


def test_the_identification_code_is_region_d156_date_serial_random_and_a_check():
    code = new_identification_code("110105", date(2026, 11, 25), "A12345678")
    assert len(code) == 32
    assert code.startswith("110105D15620261125A12345678")
    assert is_valid_identification_code(code)


def test_the_check_character_catches_every_single_character_change():
    code = new_identification_code("440524", date(2026, 1, 2), "K87654321")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for position in range(len(code)):
        for replacement in alphabet:
            if replacement != code[position]:
                changed = code[:position] + replacement + code[position + 1 :]
                assert not is_valid_identification_code(changed), changed


def test_the_check_character_is_iso_7064_mod_37_36():
    # The standard's worked example, as python-stdnum documents it.
    assert mod37_36_check("A12425GABC1234002") == "M"


@pytest.mark.parametrize(
    ("region", "serial"), [("11010", "A12345678"), ("11010X", "A12345678"), ("110105", "12345")]
)
def test_bad_parts_are_refused(region, serial):
    with pytest.raises(ValueError):
        new_identification_code(region, date(2026, 1, 1), serial)


def test_a_card_is_valid_for_ten_years_and_leap_days_fall_back():
    assert expiry_date(date(2026, 11, 25)) == date(2036, 11, 25)
    assert expiry_date(date(2028, 2, 29)) == date(2038, 2, 28)


def test_the_issue_date_is_the_date_in_china():
    from datetime import UTC, datetime

    assert issue_date_now(datetime(2026, 11, 24, 16, 30, tzinfo=UTC)) == date(2026, 11, 25)
    assert issue_date_now(datetime(2026, 11, 24, 15, 59, tzinfo=UTC)) == date(2026, 11, 24)
