from __future__ import annotations

from datetime import date

import pytest

from shared.personal_data.resident_id import InvalidResidentId, normalise, parse_resident_id

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("raw", "gender", "born"),
    [
        ("11010519491231002X", "female", date(1949, 12, 31)),
        ("11010519491231002x", "female", date(1949, 12, 31)),
        ("440524188001010014", "male", date(1880, 1, 1)),
        ("34052419800101001X", "male", date(1980, 1, 1)),
        ("360426199101010071", "male", date(1991, 1, 1)),
    ],
)
def test_the_valid_examples_parse(raw, gender, born):
    parsed = parse_resident_id(raw, today=TODAY)
    assert parsed.number == raw.upper()
    assert (parsed.gender, parsed.birth_date) == (gender, born)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("110105194912310021", "check character"),  # bad check digit
        ("11010519490231002X", "not a real date"),  # 31 February
        ("110105203001010010", "impossible"),  # born in 2030
        ("11010519491231002", "18 characters"),  # 17 characters
        ("1101051949A231002X", "17 digits"),  # a letter inside
        ("99010519491231002X", "region"),  # no such province
    ],
)
def test_invalid_numbers_say_why(raw, why):
    with pytest.raises(InvalidResidentId, match=why):
        parse_resident_id(raw, today=TODAY)


def test_full_width_digits_and_x_are_the_same_person_as_ascii():
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "11010519491231002x")
    assert parse_resident_id(full_width).number == "11010519491231002X"
    assert normalise(full_width) == "11010519491231002X"


def test_digits_of_other_scripts_are_refused_not_read_as_another_number():
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in "11010519491231002") + "X"
    with pytest.raises(InvalidResidentId):
        parse_resident_id(arabic_indic)
