"""Expiry notices: a card expires ten years after its issue date; its holder hears of it 90 and
30 days ahead, once per threshold per card (`card.expiry_approaching`, which the notification
service can turn into a text)."""

from __future__ import annotations

from datetime import date, timedelta

from services.printing.dao import dao_add_expiry_notice, dao_list_live_cards_expiring
from services.printing.use_cases.after_activation import announce_card_event
from shared.db.uow import UnitOfWork
from shared.time import utcnow

# Days ahead, widest first: a card inside the 30-day window gets the 30-day notice only.
THRESHOLDS = (90, 30)


def notify_expiring_cards(uow: UnitOfWork, *, today: date, limit: int = 200) -> int:
    """Publishes the notices due today, up to `limit` a threshold; how many."""
    sent = 0
    now = utcnow()
    windows = [*THRESHOLDS[1:], -1]
    for days_ahead, narrower in zip(THRESHOLDS, windows, strict=True):
        cards = dao_list_live_cards_expiring(
            uow.session,
            after=today + timedelta(days=narrower),
            on_or_before=today + timedelta(days=days_ahead),
            days_ahead=days_ahead,
            limit=limit,
        )
        for card in cards:
            dao_add_expiry_notice(uow.session, card.card_id, days_ahead, now)
            announce_card_event(
                uow,
                "card.expiry_approaching",
                card,
                now,
                expiry_date=card.expiry_date.isoformat(),
                days_ahead=days_ahead,
            )
            sent += 1
    return sent
