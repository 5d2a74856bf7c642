"""Bank outlets where citizens collect their cards: the public list, admin create and update.
Every change is published as `outlet.upserted`."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.printing.dao import dao_get_bank, dao_get_outlet, dao_list_outlets
from services.printing.models import Outlet
from services.printing.outlets import OutletFields, create_outlet, update_outlet
from shared.auth import ADMIN
from shared.errors import NotFound
from shared.web.app import readonly_session, unit_of_work
from shared.web.auth import public, requires_roles
from shared.web.idempotency import idempotent

blp = Blueprint("outlets", __name__, description="Bank outlets that hand over cards.")


class OutletSchema(Schema):
    outlet_id = fields.UUID(dump_only=True)
    bank_code = fields.String(required=True, validate=validate.Length(min=2, max=16))
    bank_name = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    district = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    active = fields.Boolean(load_default=True)


class OutletListSchema(Schema):
    items = fields.List(fields.Nested(OutletSchema))


class OutletQuerySchema(Schema):
    bank_code = fields.String()
    district = fields.String()
    include_inactive = fields.Boolean(load_default=False)


def outlet_view(session, outlet: Outlet) -> dict:
    bank = dao_get_bank(session, outlet.bank_code)
    return {
        "outlet_id": outlet.outlet_id,
        "bank_code": outlet.bank_code,
        "bank_name": bank.name if bank else None,
        "name": outlet.name,
        "district": outlet.district,
        "address": outlet.address,
        "active": outlet.active,
    }


@blp.route("/outlets", methods=["GET"])
@public
@blp.arguments(OutletQuerySchema, location="query", as_kwargs=True)
@blp.response(200, OutletListSchema)
def list_outlets(**query):
    """Active outlets (all of them with `include_inactive=true`), by bank and district."""
    with readonly_session() as session:
        outlets = dao_list_outlets(session, **query)
        return {"items": [outlet_view(session, outlet) for outlet in outlets]}


@blp.route("/outlets/<uuid:outlet_id>", methods=["GET"])
@public
@blp.response(200, OutletSchema)
def get_outlet(outlet_id):
    with readonly_session() as session:
        outlet = dao_get_outlet(session, str(outlet_id))
        if outlet is None:
            raise NotFound("No such outlet.")
        return outlet_view(session, outlet)


@blp.route("/outlets", methods=["POST"])
@requires_roles(ADMIN)
@idempotent
@blp.arguments(OutletSchema)
@blp.response(201, OutletSchema)
def create_outlet_route(payload):
    with unit_of_work() as uow:
        outlet = create_outlet(uow, OutletFields(**payload))
        view = outlet_view(uow.session, outlet)
        uow.commit()
        return view


@blp.route("/outlets/<uuid:outlet_id>", methods=["PUT"])
@requires_roles(ADMIN)
@blp.arguments(OutletSchema)
@blp.response(200, OutletSchema)
def update_outlet_route(payload, outlet_id):
    """Replaces the outlet's fields; `active: false` closes it for new applications."""
    with unit_of_work() as uow:
        outlet, _changed = update_outlet(uow, str(outlet_id), OutletFields(**payload))
        view = outlet_view(uow.session, outlet)
        uow.commit()
        return view
