"""The key ring that signs print messages to partner banks (Ed25519); the web app serves its
public keys, the worker signs with its current key."""

from __future__ import annotations

from shared.auth.keys import KeyRing
from shared.config import Settings

PRINT_KEY_RING = "printing-print"


def print_signing_keys(settings: Settings) -> KeyRing:
    """Generated on first use under the keys directory (0700/0600, never in git)."""
    return KeyRing(settings.keys_dir / PRINT_KEY_RING)


ECARD_KEY_RING = "printing-ecard"


def ecard_signing_keys(settings: Settings) -> KeyRing:
    """The electronic card's own key ring: a key of its own, so that rotating either the print
    key or this one never touches the other's verifiers."""
    return KeyRing(settings.keys_dir / ECARD_KEY_RING)
