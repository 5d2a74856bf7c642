"""The scopes admins grant integrator accounts."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.notification.domain.scopes import Scope
from services.notification.models import IntegratorScope
from shared.time import utcnow


def dao_get_granted_scope(session: Session, account_id: str) -> IntegratorScope | None:
    return session.get(IntegratorScope, account_id)


def dao_put_granted_scope(
    session: Session, account_id: str, scope: Scope, granted_by: str
) -> IntegratorScope:
    row = session.get(IntegratorScope, account_id)
    if row is None:
        row = IntegratorScope(account_id=account_id)
        session.add(row)
    row.kind = scope.kind.value
    row.value = scope.value
    row.granted_by = granted_by
    row.granted_at = utcnow()
    return row


def dao_delete_granted_scope(session: Session, account_id: str) -> bool:
    result = session.execute(
        delete(IntegratorScope).where(IntegratorScope.account_id == account_id)
    )
    return result.rowcount > 0
