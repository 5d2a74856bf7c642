"""Claim checks (docs/contract.md §4.4): an event carries `{url, sha256, content_type}` of
a file the application service keeps; a consumer fetches it with a service token and accepts
only bytes whose SHA-256 matches."""

from __future__ import annotations

import hashlib

import requests

from shared.auth.service_tokens import ServiceTokenClient
from shared.errors import PermanentMessageError, TransientError

# The application service's internal endpoint behind every claim-check URL.
INTERNAL_FILES_PATH = "/internal/v1/files/{sha256}"
MAX_CLAIMED_FILE_BYTES = 10 * 1024 * 1024


def claim_check_url(base_url: str, sha256: str) -> str:
    return base_url.rstrip("/") + INTERNAL_FILES_PATH.format(sha256=sha256)


class ClaimedFileGone(PermanentMessageError):
    """The holder no longer has the file: deleted under its retention, or never there."""


def fetch_claimed_file(
    reference: dict, tokens: ServiceTokenClient, *, timeout: tuple[float, float] = (3.0, 15.0)
) -> bytes:
    """The file's bytes. TransientError when the holder is unreachable or busy (retry later);
    PermanentMessageError when the file is gone (ClaimedFileGone) or its content does not match
    the claim."""
    try:
        response = requests.get(reference["url"], headers=tokens.headers(), timeout=timeout)
    except requests.RequestException as exc:
        raise TransientError(f"cannot fetch {reference['url']}: {exc}") from exc
    if response.status_code == 404:
        raise ClaimedFileGone(f"claimed file {reference['sha256']} no longer exists")
    if response.status_code != 200:
        # 5xx, 429, and 401/403 during a key rotation all clear up by themselves.
        raise TransientError(f"fetching {reference['url']} answered {response.status_code}")
    content = response.content
    if len(content) > MAX_CLAIMED_FILE_BYTES:
        raise PermanentMessageError("claimed file is larger than any upload may be")
    if hashlib.sha256(content).hexdigest() != reference["sha256"]:
        raise PermanentMessageError(f"claimed file {reference['sha256']} failed its SHA-256 check")
    return content
