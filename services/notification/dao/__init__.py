"""Data access for the notification service, one module per kind of record: `contacts`
(contacts and channel bindings), `read_models` (outlets and applications heard of),
`notifications`, `subscriptions`, `scopes` (granted to integrator accounts) and `deliveries`
(webhook deliveries, their events and attempts). Each `dao_<verb>_<noun>()` works in the
caller's session and transaction (a request's or a consumer's unit of work, or one of the
dispatcher's short transactions)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.db.engine import is_postgresql


def insert_ignoring_duplicates(session: Session, model, rows: Sequence[dict]) -> None:
    """Rows that collide with a unique key are skipped: a redelivered event adds nothing."""
    if not rows:
        return
    dialect = postgresql if is_postgresql(session) else sqlite
    session.execute(dialect.insert(model.__table__).on_conflict_do_nothing(), list(rows))
