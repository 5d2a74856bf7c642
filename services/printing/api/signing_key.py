"""The public key partner banks verify print messages with."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.printing.deps import current
from services.printing.domain.print_message import SIGNATURE_ALGORITHM
from shared.web.auth import public

blp = Blueprint(
    "print_signing_key", __name__, description="The key that signs print messages to banks."
)

# Banks cache the key; the `signaturekeyid` of every message tells them when to fetch again.
CACHE_CONTROL = "public, max-age=300"


class PublicKeySchema(Schema):
    key_id = fields.String(metadata={"description": "Matches a message's `signaturekeyid`"})
    algorithm = fields.String(metadata={"description": "Always Ed25519"})
    public_key_pem = fields.String(metadata={"description": "SubjectPublicKeyInfo, PEM"})


class SigningKeySchema(PublicKeySchema):
    keys = fields.List(
        fields.Nested(PublicKeySchema),
        metadata={
            "description": "The current key first, then previous keys that still verify "
            "messages signed before a rotation"
        },
    )


def _public(key) -> dict:
    return {"key_id": key.kid, "algorithm": SIGNATURE_ALGORITHM, "public_key_pem": key.public_pem()}


@blp.route("/print-signing-key", methods=["GET"])
@public
@blp.response(200, SigningKeySchema, headers={"Cache-Control": {"schema": {"type": "string"}}})
def get_print_signing_key():
    keys = current().print_keys.verification_keys()
    return (
        {**_public(keys[0]), "keys": [_public(key) for key in keys]},
        200,
        {"Cache-Control": CACHE_CONTROL},
    )
