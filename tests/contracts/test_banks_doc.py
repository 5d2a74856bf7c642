"""The worked example in docs/banks.md is right: its canonical bytes are what the printing
service signs, its signature verifies with its key, and the verification code it shows works."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.printing.domain.print_message import canonical_json, sign
from shared.auth.keys import SigningKey
from shared.messaging.events import validation_errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "banks.md"
BLOCK = re.compile(r"<!-- example:(?P<name>[a-z-]+) -->\n```[a-z]*\n(?P<body>.*?)\n```", re.S)


@pytest.fixture(scope="module")
def examples() -> dict[str, str]:
    return {m["name"]: m["body"] for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def example_key() -> Ed25519PrivateKey:
    seed = hashlib.sha256(b"sscard docs/banks.md example key").digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def test_the_example_data_is_valid_print_data(examples):
    data = json.loads(examples["data"])
    assert validation_errors("card.print_request", data, strict=True) == {}


def test_the_canonical_bytes_shown_are_the_ones_printing_signs(examples):
    canonical = canonical_json(json.loads(examples["data"]))
    assert canonical == examples["canonical"].encode()
    assert len(canonical) == 598
    assert hashlib.sha256(canonical).hexdigest() in DOC.read_text(encoding="utf-8")


def test_the_key_and_signature_shown_come_from_the_stated_seed(examples, example_key):
    pem = example_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pem.decode().strip() == examples["public-key"].strip()
    signed = sign(SigningKey("example", example_key), json.loads(examples["data"]))
    assert signed["signature"] == examples["signature"].strip()


def test_the_verification_code_shown_accepts_the_example_and_refuses_any_change(examples):
    namespace: dict = {}
    exec(compile(examples["verify"], "docs/banks.md", "exec"), namespace)  # noqa: S102
    keys = {"example": serialization.load_pem_public_key(examples["public-key"].encode())}
    message = {
        "signaturekeyid": "example",
        "signature": examples["signature"].strip(),
        "data": json.loads(examples["data"]),
    }
    assert namespace["is_genuine"](message, keys)
    assert not namespace["is_genuine"]({**message, "signaturekeyid": "unknown"}, keys)
    for field in ("name", "card_serial", "social_security_number"):
        data = dict(message["data"])
        data[field] = data[field][:-1] + ("0" if data[field][-1] != "0" else "1")
        assert not namespace["is_genuine"]({**message, "data": data}, keys)


def test_the_command_example_is_valid_canonical_and_signed_by_the_example_key(
    examples, example_key
):
    data = json.loads(examples["command-data"])
    for command in ("card.block_request", "card.unblock_request", "card.cancel_request"):
        assert validation_errors(command, data, strict=True) == {}
    canonical = canonical_json(data)
    assert canonical == examples["command-canonical"].encode()
    assert hashlib.sha256(canonical).hexdigest() in DOC.read_text(encoding="utf-8")
    signed = sign(SigningKey("example", example_key), data)
    assert signed["signature"] == examples["command-signature"].strip()
    namespace: dict = {}
    exec(compile(examples["verify"], "docs/banks.md", "exec"), namespace)  # noqa: S102
    keys = {"example": example_key.public_key()}
    message = {"signaturekeyid": "example", "signature": signed["signature"], "data": data}
    assert namespace["is_genuine"](message, keys)
    tampered = {**message, "data": {**data, "card_serial": "K48213908"}}
    assert not namespace["is_genuine"](tampered, keys)
