"""What other services' events tell this one about outlets and applications, kept to word the
messages about them."""

from __future__ import annotations

from datetime import datetime

from services.notification.dao.read_models import dao_save_application, dao_save_outlet
from services.notification.deps import Dependencies
from shared.db.uow import UnitOfWork


def save_outlet(uow: UnitOfWork, deps: Dependencies, *, outlet: dict, as_of: datetime) -> None:
    """`outlet`: the fields of `outlet.upserted`; an older one never overwrites a newer."""
    dao_save_outlet(uow.session, outlet, as_of)


def save_application(uow: UnitOfWork, deps: Dependencies, *, application: dict) -> None:
    """`application`: the fields of `application.submitted`."""
    dao_save_application(uow.session, application)
