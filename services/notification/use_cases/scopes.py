"""The scopes admins grant integrator accounts (domain/scopes.py says what each sees).

A subscription keeps the scope it was created with; so that changing or revoking a grant
really narrows what an account receives, its active subscriptions with any other scope are
disabled at once (their pending deliveries cancelled), and it creates new ones."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from services.notification.dao.deliveries import dao_cancel_pending_deliveries
from services.notification.dao.scopes import (
    dao_delete_granted_scope,
    dao_get_granted_scope,
    dao_put_granted_scope,
)
from services.notification.dao.subscriptions import dao_active_subscriptions
from services.notification.deps import Dependencies
from services.notification.domain.scopes import Scope
from services.notification.domain.statuses import SubscriptionStatus
from services.notification.models import IntegratorScope
from shared.db.uow import UnitOfWork
from shared.errors import NotFound

log = logging.getLogger(__name__)

SCOPE_CHANGED = "An admin changed this account's scope; create a new subscription."


def grant_scope(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    account_id: str,
    scope: Scope,
    granted_by: str,
    now: datetime,
) -> IntegratorScope:
    """The account's scope from now on (replacing any other)."""
    grant = dao_put_granted_scope(uow.session, account_id, scope, granted_by)
    _disable_outside(uow, account_id, scope, now)
    return grant


def revoke_scope(uow: UnitOfWork, deps: Dependencies, *, account_id: str, now: datetime) -> None:
    """NotFound when the account has no granted scope."""
    if not dao_delete_granted_scope(uow.session, account_id):
        raise NotFound("This account has no granted scope.")
    _disable_outside(uow, account_id, None, now)


def granted_scope(session: Session, *, account_id: str) -> IntegratorScope:
    grant = dao_get_granted_scope(session, account_id)
    if grant is None:
        raise NotFound("This account has no granted scope.")
    return grant


def _disable_outside(uow: UnitOfWork, account_id: str, scope: Scope | None, now: datetime) -> None:
    for subscription in dao_active_subscriptions(uow.session, owner_id=account_id):
        if scope is not None and subscription.scope == scope:
            continue
        subscription.status = SubscriptionStatus.DISABLED
        subscription.disabled_at = now
        subscription.disabled_reason = SCOPE_CHANGED
        dao_cancel_pending_deliveries(uow.session, subscription.subscription_id, SCOPE_CHANGED)
        log.warning(
            "disabled webhook subscription %s of %s: scope changed",
            subscription.subscription_id,
            account_id,
        )
