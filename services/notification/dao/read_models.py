"""What the notification service keeps of other services' records to word its messages: the
outlets (from printing) and the applications (from application)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.notification.dao import insert_ignoring_duplicates
from services.notification.models import ApplicationRef, Outlet


def dao_save_outlet(session: Session, data: dict, as_of: datetime) -> None:
    """Inserted, or updated unless what is stored is newer than `as_of`."""
    values = {
        "bank_code": data["bank_code"],
        "bank_name": data["bank_name"],
        "name": data["name"],
        "district": data["district"],
        "address": data["address"],
        "active": bool(data["active"]),
        "as_of": as_of,
    }
    outlet_id = str(data["outlet_id"])
    insert_ignoring_duplicates(session, Outlet, [{"outlet_id": outlet_id, **values}])
    session.execute(
        update(Outlet).where(Outlet.outlet_id == outlet_id, Outlet.as_of <= as_of).values(**values)
    )


def dao_get_outlet(session: Session, outlet_id: str | None) -> Outlet | None:
    return session.get(Outlet, str(outlet_id)) if outlet_id else None


def dao_save_application(session: Session, data: dict) -> None:
    insert_ignoring_duplicates(
        session,
        ApplicationRef,
        [
            {
                "application_id": str(data["application_id"]),
                "account_id": str(data["account_id"]),
                "acceptance_number": data["acceptance_number"],
                "outlet_id": str(data["outlet_id"]) if data.get("outlet_id") else None,
                "bank_code": data.get("bank_code"),
            }
        ],
    )


def dao_get_application(session: Session, application_id: str | None) -> ApplicationRef | None:
    return session.get(ApplicationRef, str(application_id)) if application_id else None
