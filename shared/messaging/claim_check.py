"""Claim checks (docs/contract.md §4.4): an event carries `{url, sha256, content_type}` of
a file the application service keeps; a consumer fetches it with a service token and accepts
only bytes whose SHA-256 matches.

Events are not signed, so a claim check's URL is not trusted: it must lie under the configured
application service base URL (`APPLICATION_URL`: scheme, host, port and path prefix compared
after parsing, no user name or password in it), and only then is the service token sent.
Redirects are never followed, and the body is streamed and given up past a size cap (the
largest upload), so a forged event can neither collect a token nor fill the memory. A URL
that breaks the rule is a PermanentMessageError: the consumer parks the message with the
reason."""

from __future__ import annotations

import hashlib
import posixpath
import urllib.parse

import requests

from shared.auth.service_tokens import ServiceTokenClient
from shared.errors import PermanentMessageError, TransientError

# The application service's internal endpoint behind every claim-check URL.
INTERNAL_FILES_PATH = "/internal/v1/files/{sha256}"
MAX_CLAIMED_FILE_BYTES = 10 * 1024 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


def claim_check_url(base_url: str, sha256: str) -> str:
    return base_url.rstrip("/") + INTERNAL_FILES_PATH.format(sha256=sha256)


class ClaimedFileGone(PermanentMessageError):
    """The holder no longer has the file: deleted under its retention, or never there."""


class UntrustedClaimCheck(PermanentMessageError):
    """The claim check names a URL outside the application service: never fetched."""


def _origin(parts: urllib.parse.SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def check_claim_url(url: str, base_url: str) -> None:
    """UntrustedClaimCheck unless `url` lies under `base_url`: the same scheme, host and port,
    a path under the base path (no `..` or `.` segments, no encoded slashes), and no user
    information."""
    try:
        parts = urllib.parse.urlsplit(url)
        base = urllib.parse.urlsplit(base_url)
        origin, expected = _origin(parts), _origin(base)
    except ValueError as exc:  # e.g. a port that is not a number
        raise UntrustedClaimCheck(f"claim-check URL is malformed: {exc}") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UntrustedClaimCheck("claim-check URL carries user information; not fetched")
    if origin != expected or not origin[1]:
        raise UntrustedClaimCheck(
            f"claim-check URL {parts.scheme}://{parts.netloc} is not the application service "
            f"({base.scheme}://{base.netloc}); not fetched"
        )
    prefix = base.path.rstrip("/") + "/"
    path = parts.path
    segments = path.split("/")
    if (
        not path.startswith(prefix)
        or any(segment in (".", "..") for segment in segments)
        or "%" in path
        or posixpath.normpath(path) != path.rstrip("/")
    ):
        raise UntrustedClaimCheck(
            f"claim-check path is not under the application service's {prefix!r}; not fetched"
        )


def fetch_claimed_file(
    reference: dict,
    tokens: ServiceTokenClient,
    *,
    base_url: str,
    max_bytes: int = MAX_CLAIMED_FILE_BYTES,
    timeout: tuple[float, float] = (3.0, 15.0),
) -> bytes:
    """The file's bytes. UntrustedClaimCheck (before any request) when the URL is not under
    `base_url`; TransientError when the holder is unreachable or busy (retry later);
    PermanentMessageError when the file is gone (ClaimedFileGone), larger than `max_bytes`,
    answered with a redirect, or its content does not match the claim."""
    url = str(reference.get("url", ""))
    check_claim_url(url, base_url)
    try:
        response = requests.get(
            url, headers=tokens.headers(), timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.RequestException as exc:
        raise TransientError(f"cannot fetch {url}: {exc}") from exc
    with response:
        if response.status_code == 404:
            raise ClaimedFileGone(f"claimed file {reference['sha256']} no longer exists")
        if 300 <= response.status_code < 400:
            raise PermanentMessageError(
                f"fetching {url} answered a redirect ({response.status_code}); not followed"
            )
        if response.status_code != 200:
            # 5xx, 429, and 401/403 during a key rotation all clear up by themselves.
            raise TransientError(f"fetching {url} answered {response.status_code}")
        content = _read_capped(response, url, max_bytes)
    if hashlib.sha256(content).hexdigest() != reference["sha256"]:
        raise PermanentMessageError(f"claimed file {reference['sha256']} failed its SHA-256 check")
    return content


def _read_capped(response: requests.Response, url: str, max_bytes: int) -> bytes:
    too_large = PermanentMessageError(f"claimed file is larger than any upload ({max_bytes} bytes)")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    content = bytearray()
    try:
        for chunk in response.iter_content(64 * 1024):
            content += chunk
            if len(content) > max_bytes:
                raise too_large
    except requests.RequestException as exc:
        raise TransientError(f"fetching {url} broke off: {exc}") from exc
    return bytes(content)
