"""Acceptance numbers and the rules about who the applicant is."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from services.application.domain.acceptance import (
    ALPHABET,
    new_acceptance_number,
    normalise_acceptance_number,
)
from services.application.domain.applicant import (
    PHOTO_REFUSED,
    IdentityVerdict,
    check_consistent_with_id_number,
    check_is_callers_own,
    check_may_see_photo_on_file,
    checked_id_number,
    missing_documents,
)
from shared.errors import Forbidden, InvalidInput


def test_acceptance_numbers_are_readable_and_dated_in_china_time():
    # 20:30 UTC on the 24th is already the 25th in Beijing.
    number = new_acceptance_number(datetime(2026, 11, 24, 20, 30, tzinfo=UTC))
    assert re.fullmatch(r"SSC-20261125-[2-9A-HJ-NP-Z]{6}", number)
    assert not set("01OI") & set(ALPHABET)


def test_acceptance_numbers_vary():
    moment = datetime(2026, 11, 25, tzinfo=UTC)
    assert len({new_acceptance_number(moment) for _ in range(200)}) == 200


@pytest.mark.parametrize(
    "typed",
    ["SSC-20261125-7K3Q9M", "ssc-20261125-7k3q9m", " SSC 20261125 7K3Q9M ", "SSC202611257K3Q9M"],
)
def test_typed_acceptance_numbers_are_forgiven_case_spaces_and_hyphens(typed):
    assert normalise_acceptance_number(typed) == "SSC-20261125-7K3Q9M"


@pytest.mark.parametrize(
    "typed", ["SSC-20261125-7K3Q9", "SSC-20261125-7K3Q0M", "ABC-20261125-7K3Q9M", ""]
)
def test_what_cannot_be_an_acceptance_number_is_none(typed):
    assert normalise_acceptance_number(typed) is None


def test_the_callers_own_name_and_number_pass():
    check_is_callers_own(IdentityVerdict(match=True))
    check_may_see_photo_on_file(IdentityVerdict(match=True))


def test_anyone_elses_name_or_number_is_forbidden():
    with pytest.raises(Forbidden):
        check_is_callers_own(IdentityVerdict(match=False))


def test_the_photo_on_file_is_refused_with_a_code_the_client_can_act_on():
    with pytest.raises(Forbidden) as refused:
        check_may_see_photo_on_file(IdentityVerdict(match=False))
    assert refused.value.extra == {"code": PHOTO_REFUSED} == {"code": "identity_not_proven"}
    assert "Upload your own photo" in refused.value.detail


def test_id_numbers_are_validated_and_normalised():
    assert checked_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(InvalidInput) as caught:
        checked_id_number("110105194912310021")
    assert "applicant.id_number" in caught.value.errors


def test_gender_and_birth_date_must_agree_with_the_id_number():
    check_consistent_with_id_number("11010519491231002X", "female", date(1949, 12, 31))
    with pytest.raises(InvalidInput) as caught:
        check_consistent_with_id_number("11010519491231002X", "male", date(1950, 1, 1))
    assert set(caught.value.errors) == {"applicant.gender", "applicant.birth_date"}


def test_missing_documents_are_listed_in_a_fixed_order():
    assert missing_documents(set()) == ["photo", "id_card_front", "id_card_back"]
    assert missing_documents({"id_card_front"}) == ["photo", "id_card_back"]
    assert missing_documents({"photo", "id_card_front", "id_card_back"}) == []
