"""Where cards can be collected: the read model of the printing service's outlets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.application.dao import dao_count_outlets, dao_list_active_outlets, dao_upsert_outlet
from services.application.deps import Dependencies
from services.application.models import Outlet
from shared.db.uow import UnitOfWork


def list_outlets(session: Session) -> list[Outlet]:
    """The active outlets, by bank and district."""
    return dao_list_active_outlets(session)


def upsert_outlet(
    uow: UnitOfWork, deps: Dependencies, *, outlet: dict[str, Any], version_at: datetime
) -> bool:
    """Applies an `outlet.upserted`; False when the read model already reflects a newer one."""
    return dao_upsert_outlet(uow.session, outlet, version_at)


def request_outlet_snapshot_if_none_known(uow: UnitOfWork, deps: Dependencies) -> bool:
    """Asks the printing service for every outlet again (`outlet.snapshot_requested`) when
    none is known; True if so."""
    if dao_count_outlets(uow.session) > 0:
        return False
    uow.add_event("outlet.snapshot_requested", {"requested_by": deps.settings.service})
    return True
