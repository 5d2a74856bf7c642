"""Demo partner banks and outlets from `deploy/seed/banks.json` (for `sscardctl seed`).

Idempotent: a second run changes nothing and publishes nothing; an outlet edited in the file
is updated and published again. Each bank's print queue is declared before its bank row
commits, so no print message can be ordered for a bank whose queue does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from marshmallow import Schema, fields, validate

from services.printing.deps import Dependencies
from services.printing.domain.banks import OutletFields
from services.printing.use_cases.outlets import put_bank, upsert_outlet
from shared.db.uow import UnitOfWork

SEED_FILE = Path(__file__).resolve().parents[3] / "deploy" / "seed" / "banks.json"


class _SeedOutletSchema(Schema):
    outlet_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    district = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    active = fields.Boolean(load_default=True)


class _SeedBankSchema(Schema):
    bank_code = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    outlets = fields.List(fields.Nested(_SeedOutletSchema), required=True)


class _SeedFileSchema(Schema):
    banks = fields.List(fields.Nested(_SeedBankSchema), required=True)


@dataclass(frozen=True)
class SeedBank:
    bank_code: str
    name: str
    # (outlet_id, its fields)
    outlets: tuple[tuple[str, OutletFields], ...]


@dataclass(frozen=True)
class SeedReport:
    banks_created: int
    outlets_published: int
    outlets_total: int


def read_seed_file(seed_file: Path = SEED_FILE) -> list[SeedBank]:
    """The banks of a seed file, checked (marshmallow ValidationError when it is wrong)."""
    loaded = _SeedFileSchema().load(json.loads(seed_file.read_text(encoding="utf-8")))
    return [
        SeedBank(
            bank_code=bank["bank_code"],
            name=bank["name"],
            outlets=tuple(
                (
                    str(outlet["outlet_id"]),
                    OutletFields(
                        bank_code=bank["bank_code"],
                        name=outlet["name"],
                        district=outlet["district"],
                        address=outlet["address"],
                        active=outlet["active"],
                    ),
                )
                for outlet in bank["outlets"]
            ),
        )
        for bank in loaded["banks"]
    ]


def seed_banks_and_outlets(
    uow: UnitOfWork, deps: Dependencies, *, banks: list[SeedBank]
) -> SeedReport:
    """Declares the banks' print queues, then creates or renames the banks and creates or
    updates their outlets."""
    deps.print_queues.declare([bank.bank_code for bank in banks])
    banks_created = outlets_published = outlets_total = 0
    for bank in banks:
        _, created = put_bank(uow, bank_code=bank.bank_code, name=bank.name)
        banks_created += created
        for outlet_id, outlet in bank.outlets:
            _, published = upsert_outlet(uow, outlet_id=outlet_id, fields=outlet)
            outlets_published += published
            outlets_total += 1
    return SeedReport(banks_created, outlets_published, outlets_total)
