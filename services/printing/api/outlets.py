"""Bank outlets where citizens collect their cards: the public list, admin create and update.
Every change is published as `outlet.upserted`."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from services.printing.deps import current
from services.printing.domain.banks import OutletFields
from services.printing.use_cases.outlets import (
    add_outlet,
    change_outlet,
    describe_outlet,
    find_outlets,
)
from shared.auth import ADMIN
from shared.web.auth import public, requires_roles
from shared.web.transaction import transactional

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


@blp.route("/outlets", methods=["GET"])
@public
@blp.arguments(OutletQuerySchema, location="query", as_kwargs=True)
@blp.response(200, OutletListSchema)
def list_outlets(**query):
    """Active outlets (all of them with `include_inactive=true`), by bank and district."""
    with current().database.session_factory() as session:
        return {"items": find_outlets(session, **query)}


@blp.route("/outlets/<uuid:outlet_id>", methods=["GET"])
@public
@blp.response(200, OutletSchema)
def get_outlet(outlet_id):
    with current().database.session_factory() as session:
        return describe_outlet(session, outlet_id=str(outlet_id))


@blp.route("/outlets", methods=["POST"])
@requires_roles(ADMIN)
@transactional(idempotent=True)
@blp.arguments(OutletSchema)
@blp.response(201, OutletSchema)
def create_outlet_route(payload, uow):
    return add_outlet(uow, fields=OutletFields(**payload))


@blp.route("/outlets/<uuid:outlet_id>", methods=["PUT"])
@requires_roles(ADMIN)
@transactional
@blp.arguments(OutletSchema)
@blp.response(200, OutletSchema)
def update_outlet_route(payload, outlet_id, uow):
    """Replaces the outlet's fields; `active: false` closes it for new applications."""
    return change_outlet(uow, outlet_id=str(outlet_id), fields=OutletFields(**payload))
