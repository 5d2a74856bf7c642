"""The rules an account must pass before it is stored: phone, real name, password, ID number,
roles. Pure domain, no database."""

from __future__ import annotations

from datetime import date

import pytest

from services.registration.domain.accounts import (
    create_staff,
    name_problems,
    normalise_name,
    password_problems,
    phone_problems,
    register_citizen,
)
from shared.errors import InvalidInput
from tests.registration.factories import PlainHasher

CITIZEN = {
    "phone": "13800138000",
    "password": "correct-horse-1",
    "name": "张三",
    "id_number": "11010519491231002x",
}


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "15000000000"])
def test_mainland_mobile_numbers_are_accepted(phone):
    assert phone_problems(phone) == []


@pytest.mark.parametrize(
    "phone",
    [
        "12800138000",  # no 12x prefix
        "1380013800",  # 10 digits
        "138001380000",  # 12 digits
        "+8613800138000",
        "1380013800a",
        "１３８００１３８０００",  # full-width digits
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits, which \d would have let through
    ],
)
def test_other_phone_numbers_are_refused(phone):
    assert phone_problems(phone)


@pytest.mark.parametrize("name", ["张三", "欧阳娜娜", "阿依古丽·买买提", "Anna", "a" * 30])
def test_real_names_are_accepted(name):
    assert name_problems(name) == []


@pytest.mark.parametrize(
    "name",
    ["张", "a" * 31, "张三3", "张 三", "·张三", "张三·", "张··三", "<script>", "张三!"],
)
def test_other_names_are_refused(name):
    assert name_problems(name)


def test_names_are_trimmed_and_normalised():
    assert normalise_name("  张三 ") == "张三"
    assert normalise_name("Ame\u0301lie") == "Amélie"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1!", "8 to 128"),
        ("x" * 129, "8 to 128"),
        ("12345678", "digits only"),
        ("13800138000", "phone number"),
        ("11010519491231002x", "ID number"),
        ("11010519491231002X", "ID number"),
    ],
)
def test_guessable_passwords_are_refused(password, why):
    problems = password_problems(password, phone="13800138000", id_number="11010519491231002X")
    assert any(why in problem for problem in problems), problems


def test_a_good_password_passes():
    assert password_problems("correct-horse-1", phone="13800138000") == []


def test_a_citizen_is_always_a_citizen_with_the_id_number_normalised():
    account = register_citizen(**CITIZEN, passwords=PlainHasher())
    assert account.role == "citizen"
    assert account.id_number == "11010519491231002X"
    assert account.bank_code is None
    assert account.password_hash == "hashed:15"


def test_a_citizen_registration_reports_every_bad_field_at_once():
    with pytest.raises(InvalidInput) as caught:
        register_citizen(
            phone="123",
            password="12345678",
            name="张",
            id_number="11010519491231002",
            passwords=PlainHasher(),
        )
    assert set(caught.value.errors) == {"phone", "password", "name", "id_number"}


def test_an_id_number_born_after_today_is_refused():
    with pytest.raises(InvalidInput) as caught:
        register_citizen(**CITIZEN, passwords=PlainHasher(), today=date(1949, 12, 30))
    assert set(caught.value.errors) == {"id_number"}


@pytest.mark.parametrize("role", ["reviewer", "integrator", "admin"])
def test_staff_other_than_bank_operators_belong_to_no_bank(role):
    assert (
        create_staff(
            role=role,
            phone="13900000000",
            password="staff-pass-1",
            name="王五",
            passwords=PlainHasher(),
        ).bank_code
        is None
    )
    with pytest.raises(InvalidInput) as caught:
        create_staff(
            role=role,
            phone="13900000000",
            password="staff-pass-1",
            name="王五",
            bank_code="ICBC",
            passwords=PlainHasher(),
        )
    assert set(caught.value.errors) == {"bank_code"}


def test_a_bank_operator_needs_a_well_formed_bank_code():
    staff = {"phone": "13900000000", "password": "staff-pass-1", "name": "王五"}
    operator = create_staff(
        role="bank_operator", bank_code="ICBC", passwords=PlainHasher(), **staff
    )
    assert (operator.role, operator.bank_code, operator.id_number) == (
        "bank_operator",
        "ICBC",
        None,
    )
    for bad in (None, "", "I", "IC BC", "icbc.#"):
        with pytest.raises(InvalidInput) as caught:
            create_staff(role="bank_operator", bank_code=bad, passwords=PlainHasher(), **staff)
        assert set(caught.value.errors) == {"bank_code"}


@pytest.mark.parametrize("role", ["citizen", "service", "root"])
def test_staff_creation_cannot_make_citizens_or_services(role):
    with pytest.raises(InvalidInput) as caught:
        create_staff(
            role=role,
            phone="13900000000",
            password="staff-pass-1",
            name="王五",
            passwords=PlainHasher(),
        )
    assert set(caught.value.errors) == {"role"}
