"""The checks and the verdict as plain functions: no images, no registry, no database."""

from __future__ import annotations

from datetime import date

import pytest

from services.verification.domain import checks
from services.verification.domain.checks import (
    Applicant,
    FaceFound,
    ImageFacts,
    RegistryAnswer,
)
from services.verification.domain.rules import CheckRules

RULES = CheckRules()
TODAY = date(2026, 11, 25)
APPLICANT = Applicant(
    name="王芳", gender="female", birth_date="1949-12-31", id_number="11010519491231002X"
)
REGISTERED = {
    "id_number": "11010519491231002X",
    "name": "王芳",
    "gender": "female",
    "birth_date": "1949-12-31",
}
GOOD_FACE = FaceFound(width=200, eye_line_above_bottom=290, area=200 * 200)
GOOD_PHOTO = ImageFacts(
    readable=True,
    format="JPEG",
    width=358,
    height=441,
    mode="RGB",
    size_bytes=20 * 1024,
    faces=(GOOD_FACE,),
    encoding=(0.0,) * 128,
)


def with_encoding(distance: float) -> ImageFacts:
    return ImageFacts(readable=True, faces=(GOOD_FACE,), encoding=(distance,) + (0.0,) * 127)


def outcome(result) -> tuple[str, list[str]]:
    return result.outcome, result.codes


class TestIdNumber:
    def test_a_valid_number_that_agrees_with_the_applicant_passes(self):
        assert outcome(checks.check_id_number(APPLICANT, today=TODAY)) == ("pass", [])

    @pytest.mark.parametrize(
        ("number", "why"),
        [
            ("110105194912310021", "check"),
            ("11010519491331002X", "real date"),
            ("99010519491231002X", "region"),
            ("1101051949123100", "18 characters"),
        ],
    )
    def test_an_invalid_number_fails(self, number, why):
        result = checks.check_id_number(
            Applicant("王芳", "female", "1949-12-31", number), today=TODAY
        )
        assert outcome(result) == ("fail", ["id_number_invalid"])
        assert why in result.detail

    def test_a_declared_gender_or_birth_date_the_number_contradicts_fails(self):
        result = checks.check_id_number(
            Applicant("王芳", "male", "1950-01-01", APPLICANT.id_number), today=TODAY
        )
        assert outcome(result) == (
            "fail",
            ["id_number_birth_date_mismatch", "id_number_gender_mismatch"],
        )


class TestRegistryMatch:
    def test_the_same_person_passes(self):
        answer = RegistryAnswer(person=REGISTERED)
        assert outcome(checks.check_registry_match(APPLICANT, answer)) == ("pass", [])

    def test_whitespace_in_a_name_is_not_a_mismatch(self):
        answer = RegistryAnswer(person={**REGISTERED, "name": "王 芳"})
        assert outcome(checks.check_registry_match(APPLICANT, answer)) == ("pass", [])

    @pytest.mark.parametrize(
        ("changes", "codes"),
        [
            ({"name": "王芬"}, ["registry_mismatch_name"]),
            ({"birth_date": "1949-12-30"}, ["registry_mismatch_birth_date"]),
            ({"gender": "male"}, ["registry_mismatch_gender"]),
            (
                {"name": "李四", "birth_date": "1950-01-01"},
                ["registry_mismatch_name", "registry_mismatch_birth_date"],
            ),
        ],
    )
    def test_a_mismatch_fails_with_its_codes(self, changes, codes):
        answer = RegistryAnswer(person={**REGISTERED, **changes})
        assert outcome(checks.check_registry_match(APPLICANT, answer)) == ("fail", codes)

    def test_nobody_in_the_registry_fails(self):
        result = checks.check_registry_match(APPLICANT, RegistryAnswer(person=None))
        assert outcome(result) == ("fail", ["registry_not_found"])

    def test_an_unreachable_registry_asks_a_person_never_rejects(self):
        result = checks.check_registry_match(APPLICANT, RegistryAnswer(unavailable="503"))
        assert outcome(result) == ("review", ["registry_unavailable"])


class TestPhotoFormat:
    def test_a_photo_to_specification_passes(self):
        assert outcome(checks.check_photo_format(GOOD_PHOTO, RULES)) == ("pass", [])

    @pytest.mark.parametrize(
        ("changes", "codes"),
        [
            ({"format": "PNG"}, ["photo_format"]),
            ({"readable": False, "format": None, "problem": "a truncated image"}, ["photo_format"]),
            ({"width": 300, "height": 400}, ["photo_dimensions"]),
            ({"mode": "L"}, ["photo_color_depth"]),
            ({"mode": "CMYK"}, ["photo_color_depth"]),
            ({"size_bytes": 8 * 1024}, ["photo_file_size"]),
            ({"size_bytes": 41 * 1024}, ["photo_file_size"]),
        ],
    )
    def test_each_departure_fails_with_its_code(self, changes, codes):
        photo = ImageFacts(**{**GOOD_PHOTO.__dict__, **changes})
        assert outcome(checks.check_photo_format(photo, RULES)) == ("fail", codes)

    def test_the_size_window_is_a_setting(self):
        big = ImageFacts(**{**GOOD_PHOTO.__dict__, "size_bytes": 150 * 1024})
        guangzhou = CheckRules(photo_min_kb=20, photo_max_kb=200)
        assert outcome(checks.check_photo_format(big, guangzhou)) == ("pass", [])


class TestSingleFace:
    def test_one_face_inside_the_geometry_passes(self):
        assert outcome(checks.check_single_face(GOOD_PHOTO, RULES)) == ("pass", [])

    @pytest.mark.parametrize(
        ("faces", "code"),
        [((), "photo_no_face"), ((GOOD_FACE, GOOD_FACE), "photo_multiple_faces")],
    )
    def test_no_face_or_several_fail(self, faces, code):
        photo = ImageFacts(**{**GOOD_PHOTO.__dict__, "faces": faces})
        assert outcome(checks.check_single_face(photo, RULES)) == ("fail", [code])

    @pytest.mark.parametrize(
        ("face", "codes"),
        [
            (FaceFound(178, 290, 1), ["photo_face_width"]),
            (FaceFound(256, 290, 1), ["photo_face_width"]),
            (FaceFound(200, 206, 1), ["photo_eye_line"]),
            (FaceFound(150, 150, 1), ["photo_face_width", "photo_eye_line"]),
        ],
    )
    def test_outside_the_geometry_a_person_decides(self, face, codes):
        photo = ImageFacts(**{**GOOD_PHOTO.__dict__, "faces": (face,)})
        assert outcome(checks.check_single_face(photo, RULES)) == ("review", codes)

    def test_the_geometry_bounds_are_inclusive(self):
        for face in (FaceFound(179, 207, 1), FaceFound(255, 400, 1)):
            photo = ImageFacts(**{**GOOD_PHOTO.__dict__, "faces": (face,)})
            assert checks.check_single_face(photo, RULES).outcome == "pass"


class TestFaceMatch:
    @pytest.mark.parametrize(
        ("distance", "expected"),
        [
            (0.37, ("pass", [])),
            (0.4999, ("pass", [])),
            (0.5, ("review", ["face_match_uncertain"])),
            (0.6, ("review", ["face_match_uncertain"])),
            (0.6001, ("fail", ["face_mismatch"])),
            (0.83, ("fail", ["face_mismatch"])),
        ],
    )
    def test_thresholds(self, distance, expected):
        result = checks.check_face_match(GOOD_PHOTO, with_encoding(distance), RULES)
        assert outcome(result) == expected
        assert f"{distance:.3f}" in result.detail

    def test_thresholds_are_settings(self):
        strict = CheckRules(match_pass_below=0.3, match_fail_above=0.35)
        assert checks.check_face_match(GOOD_PHOTO, with_encoding(0.37), strict).outcome == "fail"

    def test_nothing_to_compare_asks_a_person(self):
        no_face = ImageFacts(readable=True)
        unreadable = ImageFacts(readable=False)
        assert outcome(checks.check_face_match(GOOD_PHOTO, no_face, RULES)) == (
            "review",
            ["id_card_no_face"],
        )
        assert outcome(checks.check_face_match(GOOD_PHOTO, unreadable, RULES)) == (
            "review",
            ["id_card_unreadable"],
        )
        assert outcome(checks.check_face_match(no_face, GOOD_PHOTO, RULES)) == (
            "review",
            ["face_match_not_possible"],
        )

    def test_inconsistent_thresholds_are_refused(self):
        with pytest.raises(ValueError):
            CheckRules(match_pass_below=0.7, match_fail_above=0.6)


class TestRegistryFaceMatch:
    """The card photo's face and the ID card's, each against the photo on file: GOOD_PHOTO's
    encoding is the origin, `with_encoding(d)` sits `d` from it."""

    ON_FILE = RegistryAnswer(person=REGISTERED, photo=b"jpeg")

    def check(self, photo, id_card, on_file, answer=ON_FILE, rules=RULES):
        return checks.check_registry_face_match(photo, id_card, answer, on_file, rules)

    def test_both_faces_close_to_the_photo_on_file_pass_and_show_their_distances(self):
        result = self.check(GOOD_PHOTO, with_encoding(0.1), with_encoding(0.3))
        assert outcome(result) == ("pass", [])
        assert "card photo ↔ photo on file 0.300" in result.detail
        assert "ID card image ↔ photo on file 0.200" in result.detail

    @pytest.mark.parametrize(
        ("photo_at", "card_at", "expected"),
        [
            (0.6001, 0.0, ("fail", ["registry_face_mismatch_photo"])),
            (0.0, 0.83, ("fail", ["registry_face_mismatch_id_card"])),
            (
                0.83,
                0.83,
                ("fail", ["registry_face_mismatch_photo", "registry_face_mismatch_id_card"]),
            ),
            (0.83, 0.55, ("fail", ["registry_face_mismatch_photo"])),
            (0.5, 0.0, ("review", ["registry_face_uncertain_photo"])),
            (0.0, 0.6, ("review", ["registry_face_uncertain_id_card"])),
            (0.4999, 0.4999, ("pass", [])),
        ],
    )
    def test_each_face_against_the_thresholds(self, photo_at, card_at, expected):
        # The photo on file sits at 0: the card photo at `photo_at`, the ID card at `card_at`.
        photo = ImageFacts(**{**GOOD_PHOTO.__dict__, "encoding": with_encoding(photo_at).encoding})
        result = self.check(photo, with_encoding(card_at), GOOD_PHOTO)
        assert outcome(result) == expected

    def test_a_card_photo_and_id_card_of_another_person_fail_however_well_they_agree(self):
        impostor = ImageFacts(**{**GOOD_PHOTO.__dict__, "encoding": with_encoding(0.8).encoding})
        assert checks.check_face_match(impostor, with_encoding(0.8), RULES).outcome == "pass"
        result = self.check(impostor, with_encoding(0.8), GOOD_PHOTO)
        assert result.outcome == "fail"

    def test_thresholds_are_the_face_match_settings(self):
        strict = CheckRules(match_pass_below=0.3, match_fail_above=0.35)
        assert self.check(GOOD_PHOTO, GOOD_PHOTO, with_encoding(0.37), rules=strict).outcome == (
            "fail"
        )

    @pytest.mark.parametrize(
        ("answer", "on_file", "code"),
        [
            (RegistryAnswer(person=REGISTERED), None, "registry_photo_missing"),
            (RegistryAnswer(person=None), None, "registry_photo_missing"),
            (RegistryAnswer(unavailable="503"), None, "registry_photo_unavailable"),
            (
                RegistryAnswer(person=REGISTERED, photo_unavailable="503"),
                None,
                "registry_photo_unavailable",
            ),
            (ON_FILE, ImageFacts(readable=False), "registry_photo_unreadable"),
            (ON_FILE, ImageFacts(readable=True), "registry_photo_no_face"),
        ],
    )
    def test_no_usable_photo_on_file_asks_a_person_never_approves(self, answer, on_file, code):
        result = self.check(GOOD_PHOTO, GOOD_PHOTO, on_file, answer)
        assert outcome(result) == ("review", [code])

    def test_a_face_that_cannot_be_compared_asks_a_person(self):
        no_face = ImageFacts(readable=True)
        result = self.check(no_face, GOOD_PHOTO, GOOD_PHOTO)
        assert outcome(result) == ("review", ["registry_face_not_compared_photo"])
        result = self.check(GOOD_PHOTO, ImageFacts(readable=False), GOOD_PHOTO)
        assert outcome(result) == ("review", ["registry_face_not_compared_id_card"])
        # ... but a mismatch of the other face still rejects.
        result = self.check(no_face, with_encoding(0.9), GOOD_PHOTO)
        assert outcome(result) == ("fail", ["registry_face_mismatch_id_card"])


class TestVerdict:
    def results(self, **outcomes):
        base = {
            "id_number_valid": checks.check_id_number(APPLICANT, today=TODAY),
            "identity_registry_match": checks.check_registry_match(
                APPLICANT, RegistryAnswer(person=REGISTERED)
            ),
            "photo_format": checks.check_photo_format(GOOD_PHOTO, RULES),
            "photo_single_face": checks.check_single_face(GOOD_PHOTO, RULES),
            "id_card_face_match": checks.check_face_match(GOOD_PHOTO, with_encoding(0.3), RULES),
            "registry_face_match": checks.check_registry_face_match(
                GOOD_PHOTO,
                with_encoding(0.3),
                RegistryAnswer(person=REGISTERED, photo=b"jpeg"),
                with_encoding(0.1),
                RULES,
            ),
            "not_duplicate": checks.check_not_duplicate(False),
        }
        base.update(outcomes)
        return list(base.values())

    def test_all_pass_approves(self):
        assert checks.decide(self.results()).outcome == checks.APPROVED

    def test_any_review_without_a_fail_asks_a_reviewer(self):
        review = checks.check_registry_match(APPLICANT, RegistryAnswer(unavailable="down"))
        verdict = checks.decide(self.results(identity_registry_match=review))
        assert verdict.outcome == checks.REVIEW_REQUIRED
        assert verdict.reasons == ()

    def test_any_fail_rejects_with_every_failing_reason(self):
        review = checks.check_registry_match(APPLICANT, RegistryAnswer(unavailable="down"))
        verdict = checks.decide(
            self.results(
                identity_registry_match=review,
                not_duplicate=checks.check_not_duplicate(True),
                id_card_face_match=checks.check_face_match(GOOD_PHOTO, with_encoding(0.9), RULES),
            )
        )
        assert verdict.outcome == checks.REJECTED
        assert [r.code for r in verdict.reasons] == ["face_mismatch", "duplicate_application"]

    def test_no_photo_on_file_never_approves(self):
        missing = checks.check_registry_face_match(
            GOOD_PHOTO, with_encoding(0.3), RegistryAnswer(person=REGISTERED), None, RULES
        )
        verdict = checks.decide(self.results(registry_face_match=missing))
        assert verdict.outcome == checks.REVIEW_REQUIRED

    def test_the_registry_face_match_comes_after_the_id_card_face_match(self):
        order = list(checks.CHECK_ORDER)
        assert order.index("registry_face_match") == order.index("id_card_face_match") + 1

    def test_results_come_back_in_the_contracts_order(self):
        verdict = checks.decide(list(reversed(self.results())))
        assert [r.check for r in verdict.results] == list(checks.CHECK_ORDER)
