"""The print message's data and its Ed25519 signature over canonical JSON."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.printing.domain.print_message import (
    CardToPrint,
    Holder,
    canonical_json,
    print_request_data,
    sign,
    verify,
)
from shared.auth.keys import SigningKey
from shared.messaging.events import validation_errors

PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"


def sample_data() -> dict:
    return print_request_data(
        CardToPrint(
            card_id="6a1e9c52-8f0e-4d61-9b59-0c3f4f1d2b7a",
            application_id="1c7a3f0e-2b4d-4e59-8a6f-7d9e0b1c2a3f",
            bank_code="ICBC",
            outlet_id="d93b57ed-c814-56a3-8ea1-245377fd863d",
            card_serial="A12345678",
            card_identification_code="110105D15620261125A12345678XY7QZ",
            issue_date=date(2026, 11, 25),
            expiry_date=date(2036, 11, 25),
        ),
        Holder(
            name="张三",
            gender="female",
            ethnicity="汉族",
            birth_date=date(1949, 12, 31),
            id_number="11010519491231002X",
            photo=PHOTO,
            photo_content_type="image/jpeg",
        ),
    )


@pytest.fixture
def signer() -> SigningKey:
    return SigningKey("test-key", Ed25519PrivateKey.generate())


def test_the_data_matches_the_registered_schema_and_carries_the_photo_inline():
    data = sample_data()
    assert validation_errors("card.print_request", data, strict=True) == {}
    assert data["social_security_number"] == "11010519491231002X"
    assert base64.b64decode(data["photo"]["data_base64"]) == PHOTO
    assert data["photo"]["sha256"] == hashlib.sha256(PHOTO).hexdigest()


def test_canonical_json_is_sorted_compact_and_keeps_non_ascii_as_utf8():
    data = {"b": "名字", "a": {"z": "x\ny", "c": True}, "q": 'say "hi"'}
    assert canonical_json(data) == (
        '{"a":{"c":true,"z":"x\\ny"},"b":"名字","q":"say \\"hi\\""}'.encode()
    )


def test_a_signature_verifies_with_the_public_key(signer):
    data = sample_data()
    extensions = sign(signer, data)
    assert extensions["signaturekeyid"] == "test-key"
    assert verify(signer.public_key, data, extensions["signature"])


def _every_change(data: dict):
    """Each leaf string changed by one character, each boolean flipped, a key added."""
    for key, value in data.items():
        if isinstance(value, dict):
            for changed in _every_change(value):
                yield {**data, key: changed}
        else:
            replacement = value[:-1] + ("0" if value[-1] != "0" else "1")
            yield {**data, key: replacement}
    yield {**data, "extra": ""}


def test_the_signature_fails_on_any_changed_byte_of_data(signer):
    data = sample_data()
    signature = sign(signer, data)["signature"]
    changes = list(_every_change(copy.deepcopy(data)))
    assert len(changes) > 15
    for changed in changes:
        assert not verify(signer.public_key, changed, signature)


def test_the_signature_fails_with_another_key_or_garbage(signer):
    data = sample_data()
    signature = sign(signer, data)["signature"]
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify(other, data, signature)
    assert not verify(signer.public_key, data, "not base64!")
    assert not verify(signer.public_key, data, base64.b64encode(b"short").decode())
