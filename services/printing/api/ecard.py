"""The electronic card: a holder's short-lived signed payload (shown as a QR code), the public
keys that verify it offline, and the platform's verification, which also checks the card's
status now."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.printing.api.cards import NO_SUCH_CARD, problem_doc
from services.printing.deps import current
from services.printing.use_cases.ecard import issue_ecard, verify_ecard
from shared.auth import CITIZEN
from shared.web.auth import current_principal, public, requires_roles

blp = Blueprint("ecard", __name__, description="The electronic social security card.")

# Verifiers cache the keys; a payload's `kid` tells them when to fetch again.
CACHE_CONTROL = "public, max-age=300"


class PayloadSchema(Schema):
    payload = fields.String(metadata={"description": "Compact JWS (EdDSA); put it in the QR"})
    key_id = fields.String()
    issued_at = fields.Integer(metadata={"description": "Unix seconds"})
    expires_at = fields.Integer(metadata={"description": "Unix seconds; 60 s after issued_at"})


class JwkSchema(Schema):
    kty = fields.String()
    crv = fields.String()
    x = fields.String()
    kid = fields.String()
    alg = fields.String()
    use = fields.String()


class JwksSchema(Schema):
    keys = fields.List(fields.Nested(JwkSchema))


class VerifyRequestSchema(Schema):
    payload = fields.String(required=True)


class VerifyResultSchema(Schema):
    valid = fields.Boolean()
    reason = fields.String(
        metadata={
            "description": "When not valid: malformed, unknown_key, bad_signature, expired, "
            "unknown_card or card_not_active"
        }
    )
    card_status = fields.String()
    claims = fields.Dict()


@blp.route("/cards/<uuid:card_id>/qr", methods=["POST"])
@requires_roles(CITIZEN)
@blp.response(200, PayloadSchema)
@blp.alt_response(404, **NO_SUCH_CARD)
@blp.alt_response(409, **problem_doc("The card is not activated, or is blocked"))
def card_qr(card_id):
    """A payload valid for 60 seconds, for the holder's own activated card."""
    with current().database.session_factory() as session:
        return issue_ecard(
            session, current(), card_id=str(card_id), holder_id=current_principal().subject
        )


@blp.route("/ecard/keys", methods=["GET"])
@public
@blp.response(200, JwksSchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
def ecard_keys():
    """The public keys (a JWK set): the current key first, then those still verifying."""
    keys = current().ecard_keys.verification_keys()
    return {"keys": [key.public_jwk() for key in keys]}, 200, {"Cache-Control": CACHE_CONTROL}


@blp.route("/ecard/verify", methods=["POST"])
@public
@blp.arguments(VerifyRequestSchema)
@blp.response(200, VerifyResultSchema)
def verify(payload):
    """Valid only when the signature and the expiry are good and the card is activated now: a
    lost or cancelled card's payloads fail here at once."""
    with current().database.session_factory() as session:
        return verify_ecard(session, current(), payload=payload["payload"])
