"""The application service's files (the applicant's photo), fetched by claim check with this
service's token."""

from __future__ import annotations

from shared.auth.service_tokens import ServiceTokenClient
from shared.messaging.claim_check import fetch_claimed_file


class ApplicationFiles:
    def __init__(self, tokens: ServiceTokenClient, *, base_url: str, max_bytes: int) -> None:
        self.tokens = tokens
        self.base_url = base_url
        self.max_bytes = max_bytes

    def fetch(self, reference: dict) -> bytes:
        """The file's bytes. Raises TransientError (retry) or PermanentMessageError (a file
        gone, or not the one claimed, or a URL not the application service's)."""
        return fetch_claimed_file(
            reference, self.tokens, base_url=self.base_url, max_bytes=self.max_bytes
        )
