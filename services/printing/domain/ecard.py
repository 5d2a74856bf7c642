"""The electronic card: a short-lived payload for the holder's phone (shown as a QR code),
signed by the printing service, that an outlet or a hospital verifies offline with the
published public key alone.

The payload is a JWS in compact serialisation (RFC 7515), signed with Ed25519 (`alg` EdDSA,
RFC 8037): `BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`, the signature over
the ASCII bytes of the first two parts joined by the dot. Any JOSE library verifies it with
the key of the header's `kid` from `GET /api/v1/ecard/keys` (a JWK set). docs/printing.md
works an example through.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LIFETIME_SECONDS = 60
PAYLOAD_TYPE = "sscard-ecard+jws"
ISSUER = "sscard-printing"


class Signer(Protocol):
    kid: str

    def sign(self, payload: bytes) -> bytes: ...


class InvalidPayload(Exception):
    """Why a payload does not verify: `reason` is one of malformed, unknown_key,
    bad_signature, expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CardFace:
    """What the payload says of the card and its holder."""

    card_id: str
    card_serial: str
    name: str
    social_security_number_masked: str
    expiry_date: str


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def issue(signer: Signer, face: CardFace, *, now: int, nonce: str | None = None) -> str:
    """The payload for `face`, valid from `now` (unix seconds) for LIFETIME_SECONDS."""
    header = {"alg": "EdDSA", "kid": signer.kid, "typ": PAYLOAD_TYPE}
    claims = {
        "iss": ISSUER,
        "sub": face.card_id,
        "card_serial": face.card_serial,
        "name": face.name,
        "ssn_masked": face.social_security_number_masked,
        "card_expiry_date": face.expiry_date,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": nonce or secrets.token_hex(8),
    }
    signing_input = f"{b64url(_json(header))}.{b64url(_json(claims))}"
    return f"{signing_input}.{b64url(signer.sign(signing_input.encode()))}"


def read(token: str, keys: dict[str, Ed25519PublicKey], *, now: int) -> dict[str, Any]:
    """The claims of a genuine, unexpired payload; InvalidPayload otherwise. Needs nothing but
    the public keys: what an outlet or a hospital does offline."""
    parts = token.strip().split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise InvalidPayload("malformed")
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidPayload("malformed") from None
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "EdDSA":
        raise InvalidPayload("malformed")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise InvalidPayload("unknown_key")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise InvalidPayload("bad_signature") from None
    expires = claims.get("exp")
    if not isinstance(expires, int) or now >= expires:
        raise InvalidPayload("expired")
    return claims
