"""The applicant's images, fetched from the application service by their claim checks (with a
service token): for the checks, and for a reviewer looking at a case."""

from __future__ import annotations

from shared.auth.service_tokens import ServiceTokenClient
from shared.messaging.claim_check import fetch_claimed_file


class ClaimedFiles:
    def __init__(self, tokens: ServiceTokenClient, *, base_url: str, max_bytes: int) -> None:
        self.tokens = tokens
        self.base_url = base_url
        self.max_bytes = max_bytes

    def fetch(self, reference: dict) -> bytes:
        """The file's content; raises shared.messaging.claim_check.ClaimedFileGone when the
        application service no longer keeps it, a PermanentMessageError when it is not intact or
        its URL is not the application service's, and a TransientError while the application
        service is unreachable."""
        return fetch_claimed_file(
            reference, self.tokens, base_url=self.base_url, max_bytes=self.max_bytes
        )
