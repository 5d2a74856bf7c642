"""Which card an application names as reports arrive in any order (domain.progress.card_after)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.application.domain.progress import CardOnFile, ProgressFact, card_after
from services.application.domain.status import Status

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NONE = CardOnFile(None, None, None)


def fact(minute: int, card_id: str | None, serial: str | None = None) -> ProgressFact:
    return ProgressFact(Status.PRINTED, T0 + timedelta(minutes=minute), "x", card_id, serial)


def test_a_report_without_a_card_changes_nothing():
    known = CardOnFile("c1", "S1", T0)
    assert card_after(known, fact(5, None)) == known


def test_the_newest_report_names_the_current_card_and_forgets_the_old_serial():
    first = card_after(NONE, fact(1, "c1", "S1"))
    assert first == CardOnFile("c1", "S1", T0 + timedelta(minutes=1))
    assert card_after(first, fact(2, "c2")) == CardOnFile("c2", None, T0 + timedelta(minutes=2))


def test_a_late_report_of_an_older_card_is_ignored_but_one_of_the_current_card_gives_its_serial():
    current = CardOnFile("c2", None, T0 + timedelta(minutes=5))
    assert card_after(current, fact(1, "c1", "S1")) == current
    assert card_after(current, fact(1, "c2", "S2")) == CardOnFile(
        "c2", "S2", T0 + timedelta(minutes=5)
    )
