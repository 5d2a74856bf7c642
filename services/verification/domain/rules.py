"""The numbers the checks apply: docs/domain.md's card photo specification and the face-match
thresholds, calibrated in docs/verification.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckRules:
    photo_width: int = 358
    photo_height: int = 441
    # KB = 1024 bytes. Cities differ (Guangzhou-style deployments use 20–200).
    photo_min_kb: int = 9
    photo_max_kb: int = 40
    face_width_min: int = 179
    face_width_max: int = 255
    # The eye line must be at least this many pixels above the bottom edge.
    eye_line_min: int = 207
    # Euclidean distance between 128-d face encodings: below → same person, above the second
    # → different people, in between → a person decides.
    match_pass_below: float = 0.5
    match_fail_above: float = 0.6

    def __post_init__(self) -> None:
        if not 0 < self.match_pass_below <= self.match_fail_above:
            raise ValueError("face-match thresholds must satisfy 0 < pass_below <= fail_above")
        if self.photo_min_kb > self.photo_max_kb:
            raise ValueError("the photo size window is empty")


# The images an application carries, each by claim check: what the checks and a reviewer see.
FILE_KINDS = ("photo", "id_card_front", "id_card_back")
