"""Migration 0003: subscriptions made before scopes existed are disabled, with a reason their
owner sees, and what they had pending is cancelled; nothing is delivered to them."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from shared.db.migrations import upgrade


def test_subscriptions_without_a_scope_are_disabled_by_the_upgrade(settings_factory):
    settings = settings_factory("notification", migrate=False)
    upgrade(settings, "0002")
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO webhook_subscriptions (subscription_id, owner_id, url,"
                    " event_types, secret_encrypted, status, created_at) VALUES"
                    " ('s-active', 'o', 'http://x/', '[\"card.*\"]', 'x', 'active', now()),"
                    " ('s-deleted', 'o', 'http://x/', '[\"card.*\"]', 'x', 'deleted', now())"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO webhook_events (event_id, event_type, payload, created_at)"
                    " VALUES ('e1', 'card.printed', '{}', now())"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO webhook_deliveries (delivery_id, subscription_id, event_id,"
                    " event_type, status, attempt_count, next_attempt_at, created_at) VALUES"
                    " ('d1', 's-active', 'e1', 'card.printed', 'pending', 0, now(), now())"
                )
            )
        upgrade(settings)
        with engine.connect() as connection:
            rows = dict(
                connection.execute(
                    text("SELECT subscription_id, status FROM webhook_subscriptions")
                ).all()
            )
            reason = connection.execute(
                text("SELECT disabled_reason FROM webhook_subscriptions WHERE status='disabled'")
            ).scalar_one()
            delivery = connection.execute(
                text("SELECT status, next_attempt_at FROM webhook_deliveries")
            ).one()
    finally:
        engine.dispose()
    assert rows == {"s-active": "disabled", "s-deleted": "deleted"}
    assert "scope" in reason
    assert tuple(delivery) == ("cancelled", None)
