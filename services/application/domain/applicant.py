"""Rules about the applicant: that the application is the caller's own, that what they
declared agrees with their ID number, and what an application still lacks before submission."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import Forbidden, InvalidInput, NotFound
from shared.personal_data.resident_id import InvalidResidentId, parse_resident_id

PHOTO = "photo"
# The documents a complete application has, in the order a problem lists them.
REQUIRED_DOCUMENTS = (PHOTO, "id_card_front", "id_card_back")


class DocumentSource(StrEnum):
    UPLOAD = "upload"
    ON_FILE = "on_file"  # the photo the identity registry has on file


# The problem's `code` when the identity check refuses the photo on file.
PHOTO_REFUSED = "identity_not_proven"


@dataclass(frozen=True)
class IdentityVerdict:
    """The registration service's answer: does the caller's account carry this real name and
    this ID number, with its phone proven and the pair confirmed by the identity registry, and
    is it not locked? Only the one yes or no: which part failed is not told."""

    match: bool


def normalise_name(name: str) -> str:
    """Names compare after Unicode normalisation and trimming only: `张三` is not `张 三`."""
    return unicodedata.normalize("NFC", name).strip()


def checked_id_number(raw: str) -> str:
    """The normalised ID number (upper-case X), or 422."""
    try:
        return parse_resident_id(raw).number
    except InvalidResidentId as exc:
        raise InvalidInput(str(exc), errors={"applicant.id_number": [str(exc)]}) from None


def check_consistent_with_id_number(id_number: str, gender: str, birth_date: date) -> None:
    """The declared gender and birth date must be the ones the ID number encodes."""
    resident = parse_resident_id(id_number)
    errors = {}
    if resident.gender != gender:
        errors["applicant.gender"] = [f"The ID number belongs to a {resident.gender} person."]
    if resident.birth_date != birth_date:
        errors["applicant.birth_date"] = ["The birth date differs from the one in the ID number."]
    if errors:
        raise InvalidInput("The applicant's details contradict the ID number.", errors=errors)


def check_is_callers_own(verdict: IdentityVerdict) -> None:
    """403 unless the applicant is the caller: the same real name and the same ID number as
    the caller's account (compared in full by the registration service), an account that is
    confirmed and not locked."""
    if not verdict.match:
        raise Forbidden("You can only apply for yourself, with your own real name and ID number.")


def check_may_see_photo_on_file(verdict: IdentityVerdict) -> None:
    """The identity registry's photo of a person is shown only to an account the identity
    check still vouches for (it may have been locked since the application was opened)."""
    if not verdict.match:
        raise Forbidden(
            "The photo on file is shown only to an account whose phone is proven and whose name "
            "and ID number the identity registry confirmed, and which is not locked. Upload "
            "your own photo instead.",
            extra={"code": PHOTO_REFUSED},
        )


def id_card_side(side: str) -> str:
    """The document kind of the front (portrait side) or back of the ID card."""
    return f"id_card_{side}"


def check_owner(owner_id: str, caller_id: str) -> None:
    """A citizen may only touch their own applications; anyone else gets the same 404 as for
    one that does not exist, so ids cannot be probed."""
    if owner_id != caller_id:
        raise NotFound("No such resource.")


def missing_documents(present: set[str]) -> list[str]:
    return [kind for kind in REQUIRED_DOCUMENTS if kind not in present]
