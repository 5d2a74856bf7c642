"""The checks of docs/contract.md §3.3, each a pure function from what is known of an application to
a `CheckResult`, and the rule that turns a case's results into its outcome.

Every non-pass outcome carries machine-readable reason codes (docs/verification.md lists
them); the detail is for the reviewer and the citizen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from services.verification.domain.rules import CheckRules
from shared.personal_data.resident_id import InvalidResidentId, parse_resident_id

PASS, FAIL, REVIEW = "pass", "fail", "review"

ID_NUMBER_VALID = "id_number_valid"
IDENTITY_REGISTRY_MATCH = "identity_registry_match"
PHOTO_FORMAT = "photo_format"
PHOTO_SINGLE_FACE = "photo_single_face"
ID_CARD_FACE_MATCH = "id_card_face_match"
REGISTRY_FACE_MATCH = "registry_face_match"
NOT_DUPLICATE = "not_duplicate"
CHECK_ORDER = (
    ID_NUMBER_VALID,
    IDENTITY_REGISTRY_MATCH,
    PHOTO_FORMAT,
    PHOTO_SINGLE_FACE,
    ID_CARD_FACE_MATCH,
    REGISTRY_FACE_MATCH,
    NOT_DUPLICATE,
)

APPROVED, REJECTED, REVIEW_REQUIRED = "approved", "rejected", "review_required"


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class CheckResult:
    check: str
    outcome: str
    detail: str
    reasons: tuple[Reason, ...] = ()

    @property
    def codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]

    def to_dict(self) -> dict:
        return {
            "check": self.check,
            "outcome": self.outcome,
            "detail": self.detail,
            "codes": self.codes,
        }


def _passed(check: str, detail: str) -> CheckResult:
    return CheckResult(check, PASS, detail)


def _not_passed(check: str, outcome: str, reasons: Sequence[Reason]) -> CheckResult:
    return CheckResult(check, outcome, " ".join(r.detail for r in reasons), tuple(reasons))


# -- what the checks look at -----------------------------------------------------------------
@dataclass(frozen=True)
class Applicant:
    name: str
    gender: str
    birth_date: str  # ISO date
    id_number: str


@dataclass(frozen=True)
class RegistryAnswer:
    """What the identity registry said: a person, nobody (`person is None`), or nothing at all
    because it stayed unreachable (`unavailable` says why); and the person's photo on file
    (`photo`, JPEG bytes; None when it has none, when there is no person, or when the photo
    alone could not be fetched: `photo_unavailable` says why)."""

    person: dict | None = None
    unavailable: str | None = None
    photo: bytes | None = None
    photo_unavailable: str | None = None


@dataclass(frozen=True)
class FaceFound:
    width: float  # face width in px (jaw line, cheek to cheek)
    eye_line_above_bottom: float  # px between the eye line and the bottom edge
    area: float  # of its detection box, to pick the main face


@dataclass(frozen=True)
class ImageFacts:
    """What was read from one image: its format and the faces in it, with the encoding of
    the main (largest) face."""

    readable: bool
    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str | None = None
    size_bytes: int = 0
    faces: tuple[FaceFound, ...] = ()
    encoding: tuple[float, ...] | None = None
    problem: str | None = None


# -- the checks --------------------------------------------------------------------------------
def check_id_number(applicant: Applicant, *, today: date | None = None) -> CheckResult:
    try:
        resident = parse_resident_id(applicant.id_number, today=today)
    except InvalidResidentId as exc:
        return _not_passed(ID_NUMBER_VALID, FAIL, [Reason("id_number_invalid", str(exc))])
    reasons = []
    if resident.birth_date.isoformat() != applicant.birth_date:
        reasons.append(
            Reason(
                "id_number_birth_date_mismatch",
                "The declared birth date differs from the one in the ID number.",
            )
        )
    if resident.gender != applicant.gender:
        reasons.append(
            Reason(
                "id_number_gender_mismatch",
                "The declared gender differs from the one the ID number encodes.",
            )
        )
    if reasons:
        return _not_passed(ID_NUMBER_VALID, FAIL, reasons)
    return _passed(ID_NUMBER_VALID, "A valid resident identity number (GB 11643).")


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


def check_registry_match(applicant: Applicant, answer: RegistryAnswer) -> CheckResult:
    if answer.unavailable is not None:
        return _not_passed(
            IDENTITY_REGISTRY_MATCH,
            REVIEW,
            [
                Reason(
                    "registry_unavailable",
                    f"The identity registry could not be asked: "
                    f"{answer.unavailable}. A reviewer must confirm the identity.",
                )
            ],
        )
    person = answer.person
    if person is None:
        return _not_passed(
            IDENTITY_REGISTRY_MATCH,
            FAIL,
            [
                Reason(
                    "registry_not_found", "The identity registry has no person with this ID number."
                )
            ],
        )
    reasons = []
    if not _same_name(applicant.name, str(person.get("name", ""))):
        reasons.append(
            Reason("registry_mismatch_name", "The name differs from the identity registry's.")
        )
    if str(person.get("birth_date")) != applicant.birth_date:
        reasons.append(
            Reason(
                "registry_mismatch_birth_date",
                "The birth date differs from the identity registry's.",
            )
        )
    if person.get("gender") != applicant.gender:
        reasons.append(
            Reason("registry_mismatch_gender", "The gender differs from the identity registry's.")
        )
    if reasons:
        return _not_passed(IDENTITY_REGISTRY_MATCH, FAIL, reasons)
    return _passed(
        IDENTITY_REGISTRY_MATCH, "Name, ID number, gender and birth date match the registry."
    )


def check_photo_format(photo: ImageFacts, rules: CheckRules) -> CheckResult:
    if not photo.readable or photo.format != "JPEG":
        what = photo.problem or f"a {photo.format or 'unknown'} image"
        return _not_passed(
            PHOTO_FORMAT, FAIL, [Reason("photo_format", f"The photo must be a JPEG, not {what}.")]
        )
    reasons = []
    if (photo.width, photo.height) != (rules.photo_width, rules.photo_height):
        reasons.append(
            Reason(
                "photo_dimensions",
                f"The photo is {photo.width}×{photo.height} px; it must be "
                f"{rules.photo_width}×{rules.photo_height} px.",
            )
        )
    if photo.mode != "RGB":
        reasons.append(
            Reason("photo_color_depth", f"The photo is {photo.mode}; it must be 24-bit RGB.")
        )
    kb = photo.size_bytes / 1024
    if not rules.photo_min_kb <= kb <= rules.photo_max_kb:
        reasons.append(
            Reason(
                "photo_file_size",
                f"The photo file is {kb:.1f} KB; it must be {rules.photo_min_kb}–"
                f"{rules.photo_max_kb} KB.",
            )
        )
    if reasons:
        return _not_passed(PHOTO_FORMAT, FAIL, reasons)
    return _passed(
        PHOTO_FORMAT,
        f"JPEG, {photo.width}×{photo.height} px, 24-bit RGB, {kb:.1f} KB.",
    )


def check_single_face(photo: ImageFacts, rules: CheckRules) -> CheckResult:
    if not photo.readable:
        return _not_passed(
            PHOTO_SINGLE_FACE, FAIL, [Reason("photo_unreadable", "The photo cannot be read.")]
        )
    if not photo.faces:
        return _not_passed(
            PHOTO_SINGLE_FACE, FAIL, [Reason("photo_no_face", "No face was found in the photo.")]
        )
    if len(photo.faces) > 1:
        return _not_passed(
            PHOTO_SINGLE_FACE,
            FAIL,
            [
                Reason(
                    "photo_multiple_faces",
                    f"The photo shows {len(photo.faces)} faces; it must show exactly one.",
                )
            ],
        )
    face = photo.faces[0]
    reasons = []
    if not rules.face_width_min <= face.width <= rules.face_width_max:
        reasons.append(
            Reason(
                "photo_face_width",
                f"The face is {face.width:.0f} px wide; it should be {rules.face_width_min}–"
                f"{rules.face_width_max} px.",
            )
        )
    if face.eye_line_above_bottom < rules.eye_line_min:
        reasons.append(
            Reason(
                "photo_eye_line",
                f"The eye line is {face.eye_line_above_bottom:.0f} px above the bottom edge; "
                f"it should be at least {rules.eye_line_min} px.",
            )
        )
    if reasons:
        return _not_passed(PHOTO_SINGLE_FACE, REVIEW, reasons)
    return _passed(
        PHOTO_SINGLE_FACE,
        f"One face, {face.width:.0f} px wide, eye line {face.eye_line_above_bottom:.0f} px "
        "above the bottom edge.",
    )


def face_distance(a: Sequence[float], b: Sequence[float]) -> float:
    return math.dist(a, b)


def check_face_match(photo: ImageFacts, id_card: ImageFacts, rules: CheckRules) -> CheckResult:
    if len(photo.faces) != 1 or photo.encoding is None:
        return _not_passed(
            ID_CARD_FACE_MATCH,
            REVIEW,
            [Reason("face_match_not_possible", "The card photo has no single face to compare.")],
        )
    if not id_card.readable:
        return _not_passed(
            ID_CARD_FACE_MATCH,
            REVIEW,
            [Reason("id_card_unreadable", "The ID card image cannot be read.")],
        )
    if id_card.encoding is None:
        return _not_passed(
            ID_CARD_FACE_MATCH,
            REVIEW,
            [Reason("id_card_no_face", "No face was found on the ID card image.")],
        )
    distance = face_distance(photo.encoding, id_card.encoding)
    measured = (
        f"Face distance {distance:.3f} (same person below {rules.match_pass_below:.2f}, "
        f"different above {rules.match_fail_above:.2f})."
    )
    if distance < rules.match_pass_below:
        return _passed(ID_CARD_FACE_MATCH, measured)
    if distance > rules.match_fail_above:
        return CheckResult(
            ID_CARD_FACE_MATCH,
            FAIL,
            measured,
            (Reason("face_mismatch", "The face on the ID card is not the person in the photo."),),
        )
    return CheckResult(
        ID_CARD_FACE_MATCH,
        REVIEW,
        measured,
        (Reason("face_match_uncertain", "The faces may or may not be the same person."),),
    )


def _registry_photo_problem(registry: RegistryAnswer, on_file: ImageFacts | None) -> Reason | None:
    """Why the photo on file cannot be the authority for this case, if it cannot."""
    if registry.unavailable is not None or registry.photo_unavailable is not None:
        return Reason(
            "registry_photo_unavailable",
            "The identity registry could not be asked for the photo on file; "
            "a reviewer must compare the faces.",
        )
    if registry.person is None or on_file is None:
        return Reason(
            "registry_photo_missing",
            "The identity registry has no photo on file for this person; "
            "a reviewer must compare the faces.",
        )
    if not on_file.readable:
        return Reason(
            "registry_photo_unreadable", "The identity registry's photo on file cannot be read."
        )
    if on_file.encoding is None:
        return Reason(
            "registry_photo_no_face", "No face was found in the identity registry's photo on file."
        )
    return None


def _against_registry(
    label: str,
    suffix: str,
    encoding: Sequence[float] | None,
    on_file: Sequence[float],
    rules: CheckRules,
) -> tuple[str, str, Reason | None]:
    """One face against the one on file: (what was measured, pass/fail/review, why not)."""
    if encoding is None:
        reason = Reason(
            f"registry_face_not_compared_{suffix}",
            f"The {label} has no single face to compare with the photo on file.",
        )
        return f"{label} ↔ photo on file: no face to compare", REVIEW, reason
    distance = face_distance(encoding, on_file)
    measured = f"{label} ↔ photo on file {distance:.3f}"
    if distance < rules.match_pass_below:
        return measured, PASS, None
    if distance > rules.match_fail_above:
        reason = Reason(
            f"registry_face_mismatch_{suffix}",
            f"The face in the {label} is not the person on file in the identity registry.",
        )
        return measured, FAIL, reason
    reason = Reason(
        f"registry_face_uncertain_{suffix}",
        f"The face in the {label} may or may not be the person on file.",
    )
    return measured, REVIEW, reason


def check_registry_face_match(
    photo: ImageFacts,
    id_card: ImageFacts,
    registry: RegistryAnswer,
    on_file: ImageFacts | None,
    rules: CheckRules,
) -> CheckResult:
    """The card photo's face and the ID card image's face, each against the face on the
    identity registry's photo on file (the authority), with `id_card_face_match`'s distance
    and thresholds. Either beyond the fail threshold → fail; anything short of two clear
    passes → review: this check never lets through what it could not compare."""
    problem = _registry_photo_problem(registry, on_file)
    if problem is not None or on_file is None or on_file.encoding is None:
        return _not_passed(REGISTRY_FACE_MATCH, REVIEW, [problem] if problem else [])
    photo_face = photo.encoding if len(photo.faces) == 1 else None
    card_face = id_card.encoding if id_card.readable else None
    compared = [
        _against_registry("card photo", "photo", photo_face, on_file.encoding, rules),
        _against_registry("ID card image", "id_card", card_face, on_file.encoding, rules),
    ]
    detail = (
        f"Face distance {'; '.join(measured for measured, _, _ in compared)} (same person "
        f"below {rules.match_pass_below:.2f}, different above {rules.match_fail_above:.2f})."
    )
    outcomes = {outcome for _, outcome, _ in compared}
    outcome = FAIL if FAIL in outcomes else REVIEW if REVIEW in outcomes else PASS
    reasons = tuple(
        reason for _, result, reason in compared if reason is not None and result == outcome
    )
    return CheckResult(REGISTRY_FACE_MATCH, outcome, detail, reasons)


def check_not_duplicate(other_claim_exists: bool) -> CheckResult:
    if other_claim_exists:
        return duplicate_result()
    return _passed(NOT_DUPLICATE, "No other pending or live card for this ID number.")


def duplicate_result() -> CheckResult:
    return _not_passed(
        NOT_DUPLICATE,
        FAIL,
        [
            Reason(
                "duplicate_application",
                "Another application for this ID number is approved "
                "or its card is live: one person, one card.",
            )
        ],
    )


# -- the outcome -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    outcome: str
    results: tuple[CheckResult, ...]
    reasons: tuple[Reason, ...] = field(default=())


def decide(results: Sequence[CheckResult]) -> Verdict:
    """Any fail → rejected (with every failing reason); else any review → review_required;
    else approved."""
    ordered = tuple(sorted(results, key=lambda r: CHECK_ORDER.index(r.check)))
    failed = [r for r in ordered if r.outcome == FAIL]
    if failed:
        return Verdict(REJECTED, ordered, tuple(reason for r in failed for reason in r.reasons))
    if any(r.outcome == REVIEW for r in ordered):
        return Verdict(REVIEW_REQUIRED, ordered)
    return Verdict(APPROVED, ordered)


def replace_result(results: Sequence[CheckResult], new: CheckResult) -> list[CheckResult]:
    return [new if r.check == new.check else r for r in results]


def run_checks(
    applicant: Applicant,
    registry: RegistryAnswer,
    photo: ImageFacts,
    id_card_front: ImageFacts,
    on_file: ImageFacts | None,
    *,
    other_claim_exists: bool,
    rules: CheckRules,
    today: date | None = None,
) -> list[CheckResult]:
    return [
        check_id_number(applicant, today=today),
        check_registry_match(applicant, registry),
        check_photo_format(photo, rules),
        check_single_face(photo, rules),
        check_face_match(photo, id_card_front, rules),
        check_registry_face_match(photo, id_card_front, registry, on_file, rules),
        check_not_duplicate(other_claim_exists),
    ]
