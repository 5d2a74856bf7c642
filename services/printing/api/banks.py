"""Partner banks: the public list, and creating or renaming one (admin)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.printing.deps import current
from services.printing.use_cases.outlets import list_partner_banks, put_partner_bank
from shared.auth import ADMIN
from shared.web.auth import public, requires_roles
from shared.web.transaction import transactional

blp = Blueprint("banks", __name__, description="Partner banks that print and issue cards.")


class BankSchema(Schema):
    bank_code = fields.String(
        dump_only=True, metadata={"description": "Also the routing key of its print queue"}
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))


class BankListSchema(Schema):
    items = fields.List(fields.Nested(BankSchema))


@blp.route("/banks", methods=["GET"])
@public
@blp.response(200, BankListSchema)
def list_banks():
    with current().database.session_factory() as session:
        return {"items": list_partner_banks(session)}


@blp.route("/banks/<bank_code>", methods=["PUT"])
@requires_roles(ADMIN)
@transactional
@blp.arguments(BankSchema)
@blp.response(200, BankSchema)
@blp.alt_response(201, schema=BankSchema, description="The bank was created")
def put_bank_route(payload, bank_code, uow):
    """Creates a partner bank (201) or renames it (200). Its print queue `print.<bank_code>`
    is declared before the bank exists, so a card can never be ordered into a void."""
    bank, created = put_partner_bank(uow, current(), bank_code=bank_code, name=payload["name"])
    return bank, 201 if created else 200
