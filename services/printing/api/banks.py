"""Partner banks: the public list, and creating or renaming one (admin)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.printing.dao import dao_list_banks
from services.printing.outlets import put_bank
from services.printing.print_queues import declare_print_queues
from shared.auth import ADMIN
from shared.web.app import readonly_session, service_context, unit_of_work
from shared.web.auth import public, requires_roles

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
    with readonly_session() as session:
        return {"items": dao_list_banks(session)}


@blp.route("/banks/<bank_code>", methods=["PUT"])
@requires_roles(ADMIN)
@blp.arguments(BankSchema)
@blp.response(200, BankSchema)
@blp.alt_response(201, schema=BankSchema, description="The bank was created")
def put_bank_route(payload, bank_code):
    """Creates a partner bank (201) or renames it (200). Its print queue `print.<bank_code>`
    is declared before the bank exists, so a card can never be ordered into a void."""
    with unit_of_work() as uow:
        bank, created = put_bank(uow, bank_code, payload["name"])
        if created:
            declare_print_queues(service_context().settings, [bank_code])
        uow.commit()
        return bank, 201 if created else 200
