"""Demo partner banks and outlets from `deploy/seed/banks.json` (called by `sscardctl seed`).

Idempotent: a second run changes nothing and publishes nothing; an outlet edited in the file
is updated and published again. Each bank's print queue is declared before its bank row
commits, so no print message can be ordered for a bank whose queue does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from marshmallow import Schema, fields, validate

from services.printing.database import PrintingDatabase
from services.printing.outlets import OutletFields, put_bank, upsert_outlet
from services.printing.print_queues import declare_print_queues
from shared.config import Settings
from shared.uow import UnitOfWork

SEED_FILE = Path(__file__).resolve().parents[2] / "deploy" / "seed" / "banks.json"


class SeedOutletSchema(Schema):
    outlet_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    district = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    active = fields.Boolean(load_default=True)


class SeedBankSchema(Schema):
    bank_code = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    outlets = fields.List(fields.Nested(SeedOutletSchema), required=True)


class SeedFileSchema(Schema):
    banks = fields.List(fields.Nested(SeedBankSchema), required=True)


@dataclass(frozen=True)
class SeedReport:
    banks_created: int
    outlets_published: int
    outlets_total: int


def seed_banks_and_outlets(settings: Settings, seed_file: Path = SEED_FILE) -> SeedReport:
    banks = SeedFileSchema().load(json.loads(seed_file.read_text(encoding="utf-8")))["banks"]
    declare_print_queues(settings, [bank["bank_code"] for bank in banks])
    database = PrintingDatabase(settings, pool_size=1)
    banks_created = outlets_published = outlets_total = 0
    try:
        with UnitOfWork(database, settings.service) as uow:
            for bank in banks:
                _, created = put_bank(uow, bank["bank_code"], bank["name"])
                banks_created += created
                for outlet in bank["outlets"]:
                    _, published = upsert_outlet(
                        uow,
                        str(outlet["outlet_id"]),
                        OutletFields(
                            bank_code=bank["bank_code"],
                            name=outlet["name"],
                            district=outlet["district"],
                            address=outlet["address"],
                            active=outlet["active"],
                        ),
                    )
                    outlets_published += published
                    outlets_total += 1
            uow.commit()
    finally:
        database.dispose()
    return SeedReport(banks_created, outlets_published, outlets_total)
