"""Use cases for partner banks and their outlets. Every change to an outlet — including its
bank's name, which consumers show beside it — is published as `outlet.upserted` with the
outlet's full current state, in the same transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.printing.dao import (
    dao_get_bank,
    dao_get_outlet,
    dao_list_all_outlets,
    dao_list_outlets_of_bank,
)
from services.printing.models import Bank, Outlet
from shared.db import new_id, utcnow
from shared.errors import InvalidInput, NotFound
from shared.uow import UnitOfWork

# Bank codes become routing keys and queue names (`print.<code>`, `bank.<code>.<status>`):
# no dots, no wildcards.
BANK_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
OUTLET_FIELDS = ("bank_code", "name", "district", "address", "active")


@dataclass(frozen=True)
class OutletFields:
    bank_code: str
    name: str
    district: str
    address: str
    active: bool = True


def outlet_upserted_data(outlet: Outlet, bank: Bank) -> dict:
    return {
        "outlet_id": outlet.outlet_id,
        "bank_code": outlet.bank_code,
        "bank_name": bank.name,
        "name": outlet.name,
        "district": outlet.district,
        "address": outlet.address,
        "active": outlet.active,
    }


def publish_outlet(uow: UnitOfWork, outlet: Outlet, bank: Bank | None = None) -> None:
    bank = bank or dao_get_bank(uow.session, outlet.bank_code)
    assert bank is not None  # a foreign key guarantees it
    uow.add_event(
        "outlet.upserted",
        outlet_upserted_data(outlet, bank),
        subject=outlet.outlet_id,
    )


def validate_bank_code(bank_code: str) -> str:
    if not BANK_CODE_PATTERN.match(bank_code):
        raise InvalidInput(
            "A bank code is 2 to 16 capital letters or digits, starting with a letter.",
            errors={"bank_code": ["2 to 16 capital letters or digits, starting with a letter."]},
        )
    return bank_code


def put_bank(uow: UnitOfWork, bank_code: str, name: str) -> tuple[Bank, bool]:
    """Creates the bank or renames it; returns (bank, created). A rename republishes the
    bank's outlets, since their published state carries the bank's name."""
    validate_bank_code(bank_code)
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
            publish_outlet(uow, outlet, bank)
    return bank, False


def _bank_for(uow: UnitOfWork, bank_code: str) -> Bank:
    bank = dao_get_bank(uow.session, bank_code)
    if bank is None:
        raise InvalidInput(
            f"There is no partner bank {bank_code!r}.",
            errors={"bank_code": ["Unknown bank."]},
        )
    return bank


def create_outlet(uow: UnitOfWork, fields: OutletFields, outlet_id: str | None = None) -> Outlet:
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
    publish_outlet(uow, outlet, bank)
    return outlet


def update_outlet(uow: UnitOfWork, outlet_id: str, fields: OutletFields) -> tuple[Outlet, bool]:
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
        publish_outlet(uow, outlet, bank)
    return outlet, changed


def upsert_outlet(uow: UnitOfWork, outlet_id: str, fields: OutletFields) -> tuple[Outlet, bool]:
    """Creates or updates an outlet with a known id; returns (outlet, published)."""
    if dao_get_outlet(uow.session, outlet_id) is None:
        return create_outlet(uow, fields, outlet_id), True
    return update_outlet(uow, outlet_id, fields)


def republish_all_outlets(uow: UnitOfWork) -> int:
    """For a consumer whose read model is empty (`outlet.snapshot_requested`)."""
    outlets = dao_list_all_outlets(uow.session)
    banks: dict[str, Bank] = {}
    for outlet in outlets:
        if outlet.bank_code not in banks:
            banks[outlet.bank_code] = _bank_for(uow, outlet.bank_code)
        publish_outlet(uow, outlet, banks[outlet.bank_code])
    return len(outlets)
