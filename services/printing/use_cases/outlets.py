"""Partner banks and their outlets. Every change to an outlet — including its bank's name, which
consumers show beside it — is published as `outlet.upserted` with the outlet's full current
state, in the same transaction; that state is also what the API shows of an outlet."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.printing.dao import (
    dao_get_bank,
    dao_get_outlet,
    dao_list_all_outlets,
    dao_list_banks,
    dao_list_outlets,
    dao_list_outlets_of_bank,
)
from services.printing.deps import Dependencies
from services.printing.domain.banks import OUTLET_FIELDS, OutletFields, validate_bank_code
from services.printing.models import Bank, Outlet
from shared.bank_codes import normalise_bank_code
from shared.db.tables import new_id
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput, NotFound
from shared.time import utcnow


def outlet_state(outlet: Outlet, bank: Bank | None) -> dict:
    """The outlet as published and shown (`bank_name` None only for a bank that is gone)."""
    return {
        "outlet_id": outlet.outlet_id,
        "bank_code": outlet.bank_code,
        "bank_name": bank.name if bank else None,
        "name": outlet.name,
        "district": outlet.district,
        "address": outlet.address,
        "active": outlet.active,
    }


# -- reading ----------------------------------------------------------------------------------


def list_partner_banks(session: Session) -> list[Bank]:
    return dao_list_banks(session)


def find_outlets(
    session: Session,
    *,
    bank_code: str | None = None,
    district: str | None = None,
    include_inactive: bool = False,
) -> list[dict]:
    outlets = dao_list_outlets(
        session,
        bank_code=normalise_bank_code(bank_code) if bank_code else None,
        district=district,
        include_inactive=include_inactive,
    )
    return [outlet_state(outlet, dao_get_bank(session, outlet.bank_code)) for outlet in outlets]


def describe_outlet(session: Session, *, outlet_id: str) -> dict:
    outlet = dao_get_outlet(session, outlet_id)
    if outlet is None:
        raise NotFound("No such outlet.")
    return outlet_state(outlet, dao_get_bank(session, outlet.bank_code))


# -- banks ------------------------------------------------------------------------------------


def put_bank(uow: UnitOfWork, *, bank_code: str, name: str) -> tuple[Bank, bool]:
    """Creates the bank or renames it; returns (bank, created). A rename republishes the
    bank's outlets, since their published state carries the bank's name."""
    bank_code = validate_bank_code(bank_code)
    bank = dao_get_bank(uow.session, bank_code)
    if bank is None:
        bank = Bank(bank_code=bank_code, name=name, created_at=utcnow(), updated_at=utcnow())
        uow.session.add(bank)
        uow.session.flush()
        return bank, True
    if bank.name != name:
        bank.name = name
        bank.updated_at = utcnow()
        for outlet in dao_list_outlets_of_bank(uow.session, bank_code):
            _publish_outlet(uow, outlet, bank)
    return bank, False


def put_partner_bank(
    uow: UnitOfWork, deps: Dependencies, *, bank_code: str, name: str
) -> tuple[Bank, bool]:
    """put_bank, and a new bank's print queue `print.<bank_code>` declared before the bank
    commits, so that a card can never be ordered into a void."""
    bank, created = put_bank(uow, bank_code=bank_code, name=name)
    if created:
        deps.print_queues.declare([bank.bank_code])
    return bank, created


# -- outlets ----------------------------------------------------------------------------------


def _publish_outlet(uow: UnitOfWork, outlet: Outlet, bank: Bank | None = None) -> None:
    bank = bank or dao_get_bank(uow.session, outlet.bank_code)
    assert bank is not None  # a foreign key guarantees it
    uow.add_event("outlet.upserted", outlet_state(outlet, bank), subject=outlet.outlet_id)


def _bank_for(uow: UnitOfWork, bank_code: str) -> Bank:
    bank = dao_get_bank(uow.session, bank_code)
    if bank is None:
        raise InvalidInput(
            f"There is no partner bank {bank_code!r}.",
            errors={"bank_code": ["Unknown bank."]},
        )
    return bank


def create_outlet(uow: UnitOfWork, *, fields: OutletFields, outlet_id: str | None = None) -> Outlet:
    bank = _bank_for(uow, fields.bank_code)
    now = utcnow()
    outlet = Outlet(
        outlet_id=outlet_id or new_id(),
        **{name: getattr(fields, name) for name in OUTLET_FIELDS},
        created_at=now,
        updated_at=now,
    )
    uow.session.add(outlet)
    uow.session.flush()
    _publish_outlet(uow, outlet, bank)
    return outlet


def update_outlet(uow: UnitOfWork, *, outlet_id: str, fields: OutletFields) -> tuple[Outlet, bool]:
    """Replaces the outlet's fields; publishes only when something changed."""
    outlet = dao_get_outlet(uow.session, outlet_id)
    if outlet is None:
        raise NotFound("No such outlet.")
    bank = _bank_for(uow, fields.bank_code)
    changed = False
    for name in OUTLET_FIELDS:
        if getattr(outlet, name) != getattr(fields, name):
            setattr(outlet, name, getattr(fields, name))
            changed = True
    if changed:
        outlet.updated_at = utcnow()
        uow.session.flush()
        _publish_outlet(uow, outlet, bank)
    return outlet, changed


def add_outlet(uow: UnitOfWork, *, fields: OutletFields) -> dict:
    """An admin's new outlet, published; its state."""
    outlet = create_outlet(uow, fields=fields)
    return outlet_state(outlet, dao_get_bank(uow.session, outlet.bank_code))


def change_outlet(uow: UnitOfWork, *, outlet_id: str, fields: OutletFields) -> dict:
    """An admin's change, published when it changes something; the outlet's state."""
    outlet, _changed = update_outlet(uow, outlet_id=outlet_id, fields=fields)
    return outlet_state(outlet, dao_get_bank(uow.session, outlet.bank_code))


def upsert_outlet(uow: UnitOfWork, *, outlet_id: str, fields: OutletFields) -> tuple[Outlet, bool]:
    """Creates or updates an outlet with a known id; returns (outlet, published)."""
    if dao_get_outlet(uow.session, outlet_id) is None:
        return create_outlet(uow, fields=fields, outlet_id=outlet_id), True
    return update_outlet(uow, outlet_id=outlet_id, fields=fields)


def republish_all_outlets(uow: UnitOfWork) -> int:
    """For a consumer whose read model is empty (`outlet.snapshot_requested`)."""
    outlets = dao_list_all_outlets(uow.session)
    banks: dict[str, Bank] = {}
    for outlet in outlets:
        if outlet.bank_code not in banks:
            banks[outlet.bank_code] = _bank_for(uow, outlet.bank_code)
        _publish_outlet(uow, outlet, banks[outlet.bank_code])
    return len(outlets)
