"""`GET /outlets`: where a card can be collected, from the read model of the printing
service's outlets."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.application.api.schemas import OutletListSchema
from services.application.deps import current
from services.application.use_cases.outlets import list_outlets as list_active_outlets
from shared.web.auth import public

blp = Blueprint("outlets", __name__, description="Bank outlets that issue cards.")


@blp.route("/outlets", methods=["GET"])
@public
@blp.response(200, OutletListSchema)
def list_outlets():
    """The active outlets, by bank and district."""
    with current().database.session_factory() as session:
        return {"items": [_outlet_view(outlet) for outlet in list_active_outlets(session)]}


def _outlet_view(outlet) -> dict:
    return {
        "outlet_id": outlet.outlet_id,
        "bank_code": outlet.bank_code,
        "bank_name": outlet.bank_name,
        "name": outlet.name,
        "district": outlet.district,
        "address": outlet.address,
    }
