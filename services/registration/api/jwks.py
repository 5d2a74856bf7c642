"""The public keys that verify registration's tokens, for every other service (RFC 7517)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.registration import deps
from services.registration.use_cases import tokens as use_cases
from shared.web.app import JWKS_PATH
from shared.web.auth import public

blp = Blueprint("jwks", __name__, description="Token verification keys.")

# Verifiers fetch again at once on an unknown kid; this only spares the steady state.
CACHE_CONTROL = "public, max-age=300"


class JwkSchema(Schema):
    kty = fields.String()
    crv = fields.String()
    x = fields.String()
    kid = fields.String()
    alg = fields.String()
    use = fields.String()


class JwksSchema(Schema):
    keys = fields.List(fields.Nested(JwkSchema))


@blp.route(JWKS_PATH, methods=["GET"])
@public
@blp.response(200, JwksSchema)
def get_jwks():
    """The current signing key and the previous ones, newest first."""
    return use_cases.verification_keys(deps.current()), 200, {"Cache-Control": CACHE_CONTROL}
