"""The electronic card's worked example in docs/printing.md is right: the payload verifies with
the key set shown (and that key set comes from the stated seed), with the code shown and with
the printing service's own reader; a changed character or a later clock makes it fail."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.printing.domain import ecard
from shared.auth.keys import SigningKey

DOC = Path(__file__).resolve().parents[2] / "docs" / "printing.md"
BLOCK = re.compile(r"<!-- example:(?P<name>[a-z-]+) -->\n```[a-z]*\n(?P<body>.*?)\n```", re.S)
ISSUED = 1795000000


@pytest.fixture(scope="module")
def examples() -> dict[str, str]:
    return {m["name"]: m["body"] for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


def test_the_key_set_shown_comes_from_the_stated_seed(examples):
    seed = hashlib.sha256(b"sscard docs/printing.md example e-card key").digest()
    key = SigningKey("example-ecard", Ed25519PrivateKey.from_private_bytes(seed))
    assert json.loads(examples["ecard-keys"]) == {"keys": [key.public_jwk()]}
    face = ecard.CardFace(
        "6a1e9c52-8f0e-4d61-9b59-0c3f4f1d2b7a",
        "K48213907",
        "张秀英",
        "110105********002X",
        "2036-11-25",
    )
    issued = ecard.issue(key, face, now=ISSUED, nonce="5f2c8a1e9b3d7046")
    assert issued == examples["ecard-payload"].strip()


def test_the_payload_verifies_with_the_code_shown_and_fails_when_changed_or_late(examples):
    namespace: dict = {}
    exec(compile(examples["ecard-verify"], "docs/printing.md", "exec"), namespace)  # noqa: S102
    read = namespace["read_ecard"]
    key_set = json.loads(examples["ecard-keys"])
    payload = examples["ecard-payload"].strip()
    claims = read(payload, key_set, ISSUED + 30)
    assert claims["card_serial"] == "K48213907" and claims["exp"] == ISSUED + 60
    keys = {k["kid"]: jwt.PyJWK(k).key for k in key_set["keys"]}
    assert ecard.read(payload, keys, now=ISSUED + 30) == claims
    with pytest.raises(jwt.ExpiredSignatureError):
        read(payload, key_set, ISSUED + 60)
    header, body, signature = payload.split(".")
    changed = (
        f"{header}.{body}.{signature[:10]}{'A' if signature[10] != 'A' else 'B'}{signature[11:]}"
    )
    with pytest.raises(jwt.InvalidTokenError):
        read(changed, key_set, ISSUED + 30)
    with pytest.raises(ecard.InvalidPayload):
        ecard.read(changed, keys, now=ISSUED + 30)
