"""Who may hold an account and what it holds: the rules for phone numbers, real names,
passwords, ID numbers and roles, checked before anything is stored.

Citizens register themselves and always get the role `citizen`; staff accounts are made by an
operator (`sscardctl staff create`) and carry no ID number.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from shared.auth.tokens import ADMIN, BANK_OPERATOR, CITIZEN, INTEGRATOR, REVIEWER
from shared.bank_codes import BANK_CODE_RULE, is_bank_code, normalise_bank_code
from shared.errors import Conflict, InvalidInput
from shared.personal_data.resident_id import InvalidResidentId, parse_resident_id

STAFF_ROLES = (REVIEWER, BANK_OPERATOR, INTEGRATOR, ADMIN)
ACCOUNT_ROLES = (CITIZEN, *STAFF_ROLES)

# The event every new account publishes (shared.messaging.events holds its schema).
ACCOUNT_REGISTERED = "account.registered"

# Mainland mobile numbers. [0-9], not \d: \d would also accept other scripts' digits.
PHONE_PATTERN = r"^1[3-9][0-9]{9}$"
PHONE_RULE = "A mainland mobile number: 11 digits starting with 13 to 19."
NAME_MIN_LENGTH, NAME_MAX_LENGTH = 2, 30
# The interpunct of transliterated names (e.g. 阿依古丽·买买提).
NAME_SEPARATOR = "·"
# Staff names may also be written in Latin letters, parts joined by one space ("Li Ming").
# Citizens' may not: a citizen's name is the one on their ID card and in the identity registry,
# where parts are joined by · and never by a space, so a space there is a typo that the
# registry would refuse anyway.
STAFF_NAME_SPACE = " "
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 128

_PHONE = re.compile(PHONE_PATTERN)


class PasswordHashing(Protocol):
    def hash(self, password: str) -> str: ...


PHONE_TAKEN = "This phone number already has an account."
_TAKEN = {"phone": PHONE_TAKEN}


class AccountExists(Conflict):
    title, slug = "Account exists", "account-exists"


def account_exists(taken: list[str]) -> AccountExists:
    """The answer when these fields (only `phone`: an ID number may have several accounts)
    already belong to an account."""
    return AccountExists(
        "An account already exists for these details.",
        errors={name: [_TAKEN[name]] for name in taken},
        extra={"code": "account_exists"},
    )


@dataclass(frozen=True)
class NewAccount:
    """An account that passed every rule, ready to be stored."""

    account_id: str
    phone: str
    name: str
    role: str
    password_hash: str
    id_number: str | None = None  # normalised (upper-case X); citizens only
    bank_code: str | None = None  # bank operators only


def normalise_name(name: str) -> str:
    return unicodedata.normalize("NFC", name.strip())


def phone_problems(phone: str) -> list[str]:
    if not _PHONE.match(phone):
        return [PHONE_RULE]
    return []


def name_problems(name: str, *, staff: bool = False) -> list[str]:
    """2–30 characters, each a letter (Chinese characters are letters) or the separator `·`,
    which may only stand between two parts of the name; for staff also a single space between
    two parts."""
    if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        return [f"A name has {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters."]
    separators = (NAME_SEPARATOR, STAFF_NAME_SPACE) if staff else (NAME_SEPARATOR,)
    if not all(char.isalpha() or char in separators for char in name):
        if staff:
            return ["A name contains only letters, Chinese characters, · and single spaces."]
        return ["A name contains only letters, Chinese characters and the separator ·."]
    if any(not part for part in re.split("|".join(map(re.escape, separators)), name)):
        if staff:
            return ["· and spaces may only stand, one at a time, between two parts of a name."]
        return ["The separator · may only stand between two parts of a name."]
    return []


def password_problems(password: str, *, phone: str, id_number: str | None = None) -> list[str]:
    problems = []
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        problems.append(
            f"A password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters."
        )
    if password.isdigit():
        problems.append("A password may not be digits only.")
    candidate = password.strip().upper()
    if candidate == phone.strip():
        problems.append("A password may not be your phone number.")
    if id_number and candidate == id_number.strip().upper():
        problems.append("A password may not be your ID number.")
    return problems


def id_number_problems(id_number: str, *, today: date | None = None) -> list[str]:
    try:
        parse_resident_id(id_number, today=today)
    except InvalidResidentId as exc:
        return [str(exc)]
    return []


def bank_code_problems(role: str, bank_code: str | None) -> list[str]:
    if role == BANK_OPERATOR:
        if not bank_code:
            return ["A bank operator needs the code of their bank."]
        if not is_bank_code(normalise_bank_code(bank_code)):
            return [f"A bank code is {BANK_CODE_RULE}"]
    elif bank_code:
        return ["Only bank operators belong to a bank."]
    return []


def _raise_if_any(problems: dict[str, list[str]]) -> None:
    problems = {field: messages for field, messages in problems.items() if messages}
    if problems:
        raise InvalidInput("One or more fields are invalid.", errors=problems)


@dataclass(frozen=True)
class CitizenDetails:
    """A citizen's registration that passed every rule, before any slow or outside check."""

    phone: str
    password: str
    name: str  # normalised
    id_number: str  # normalised (NFKC, upper-case X)


def check_citizen(
    *, phone: str, password: str, name: str, id_number: str, today: date | None = None
) -> CitizenDetails:
    """The registration's fields, normalised; InvalidInput naming every bad field at once."""
    name = normalise_name(name)
    _raise_if_any(
        {
            "phone": phone_problems(phone),
            "name": name_problems(name),
            "id_number": id_number_problems(id_number, today=today),
            "password": password_problems(password, phone=phone, id_number=id_number),
        }
    )
    number = parse_resident_id(id_number, today=today).number
    return CitizenDetails(phone=phone, password=password, name=name, id_number=number)


def citizen_account(details: CitizenDetails, password_hash: str) -> NewAccount:
    """A citizen's account: the public API can make no other kind."""
    return NewAccount(
        account_id=str(uuid.uuid4()),
        phone=details.phone,
        name=details.name,
        role=CITIZEN,
        password_hash=password_hash,
        id_number=details.id_number,
    )


def register_citizen(
    *,
    phone: str,
    password: str,
    name: str,
    id_number: str,
    passwords: PasswordHashing,
    today: date | None = None,
) -> NewAccount:
    """`check_citizen` then `citizen_account`, hashing in between."""
    details = check_citizen(
        phone=phone, password=password, name=name, id_number=id_number, today=today
    )
    return citizen_account(details, passwords.hash(password))


def registry_confirms(person: dict | None, details: CitizenDetails) -> bool:
    """True when the identity registry knows this ID number under exactly this name."""
    if person is None or not isinstance(person.get("name"), str):
        return False
    return normalise_name(person["name"]) == details.name


def create_staff(
    *,
    role: str,
    phone: str,
    password: str,
    name: str,
    passwords: PasswordHashing,
    bank_code: str | None = None,
) -> NewAccount:
    """A staff account, made by an operator; never through the public API."""
    name = normalise_name(name)
    _raise_if_any(
        {
            "role": [] if role in STAFF_ROLES else [f"A staff role is one of {STAFF_ROLES}."],
            "phone": phone_problems(phone),
            "name": name_problems(name, staff=True),
            "password": password_problems(password, phone=phone),
            "bank_code": bank_code_problems(role, bank_code),
        }
    )
    return NewAccount(
        account_id=str(uuid.uuid4()),
        phone=phone,
        name=name,
        role=role,
        password_hash=passwords.hash(password),
        bank_code=normalise_bank_code(bank_code) if bank_code else None,
    )
