"""The key ring that signs print messages to partner banks (Ed25519); the web app serves its
public keys, the worker signs with its current key."""

from __future__ import annotations

from datetime import timedelta

from shared.auth.keys import KeyRing
from shared.config import Settings

PRINT_KEY_RING = "printing-print"
# How long a replaced print key is still published for banks to verify with: print messages
# signed just before `sscardctl keys rotate --service printing` may wait in a bank's queue
# (a bank offline over a long weekend) before the bank checks them.
DEFAULT_PRINT_KEY_OVERLAP_DAYS = 7


def print_signing_keys(settings: Settings) -> KeyRing:
    """Generated on first use under the keys directory (0700/0600, never in git); a replaced
    key stays published for PRINTING_PRINT_KEY_OVERLAP_DAYS (7)."""
    days = settings.get_int("PRINT_KEY_OVERLAP_DAYS", DEFAULT_PRINT_KEY_OVERLAP_DAYS)
    return KeyRing(settings.keys_dir / PRINT_KEY_RING, overlap=timedelta(days=max(days, 0)))


ECARD_KEY_RING = "printing-ecard"


def ecard_signing_keys(settings: Settings) -> KeyRing:
    """The electronic card's own key ring: a key of its own, so that rotating either the print
    key or this one never touches the other's verifiers."""
    return KeyRing(settings.keys_dir / ECARD_KEY_RING)
