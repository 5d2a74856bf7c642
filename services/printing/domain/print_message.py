"""The print message a partner bank receives (docs/contract.md §4.5), and its signature.

The signature is Ed25519 over the canonical JSON of `data`: RFC 8785 (JCS). For this data —
strings, booleans and nested objects with ASCII keys, no numbers — JCS gives exactly the bytes
of `json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` in UTF-8,
which is what a bank can compute in any language with a JCS library or a sorted compact dump.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_ALGORITHM = "Ed25519"
SIGNATURE_EXTENSION = "signature"
KEY_ID_EXTENSION = "signaturekeyid"


class Signer(Protocol):
    kid: str

    def sign(self, payload: bytes) -> bytes: ...


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(signer: Signer, data: dict[str, Any]) -> dict[str, str]:
    """The CloudEvents extension attributes that carry the signature."""
    signature = base64.b64encode(signer.sign(canonical_json(data))).decode()
    return {SIGNATURE_EXTENSION: signature, KEY_ID_EXTENSION: signer.kid}


def verify(public_key: Ed25519PublicKey, data: dict[str, Any], signature_b64: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), canonical_json(data))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


@dataclass(frozen=True)
class CardToPrint:
    card_id: str
    application_id: str
    bank_code: str
    outlet_id: str
    card_serial: str
    card_identification_code: str
    issue_date: date
    expiry_date: date


@dataclass(frozen=True)
class Holder:
    name: str
    gender: str
    ethnicity: str
    birth_date: date
    id_number: str
    photo: bytes
    photo_content_type: str


def print_request_data(card: CardToPrint, holder: Holder) -> dict[str, Any]:
    """`data` of a `card.print_request`: everything printed on or stored in the card, the photo
    inline. The social security number is the ID number (Social Insurance Law art. 58)."""
    return {
        "card_id": card.card_id,
        "application_id": card.application_id,
        "bank_code": card.bank_code,
        "outlet_id": card.outlet_id,
        "card_serial": card.card_serial,
        "card_identification_code": card.card_identification_code,
        "social_security_number": holder.id_number,
        "name": holder.name,
        "gender": holder.gender,
        "ethnicity": holder.ethnicity,
        "birth_date": holder.birth_date.isoformat(),
        "issue_date": card.issue_date.isoformat(),
        "expiry_date": card.expiry_date.isoformat(),
        "photo": {
            "content_type": holder.photo_content_type,
            "sha256": hashlib.sha256(holder.photo).hexdigest(),
            "data_base64": base64.b64encode(holder.photo).decode(),
        },
    }
