"""The adapter to the registration service: is the caller the applicant?

The application service does not own accounts and never reads the registration database. It
asks the registration service's internal identity check, with its own service token, whether
the caller's account has exactly this real name and this ID number (and is confirmed and not
locked); the full number is compared there (by its blind index) and only `{match}` comes back.

A slow registration service must not hold this service's workers: the timeouts are short, a
slow answer is never asked again (that would only add to the load that made it slow), and a
refused connection or a 502/503/504 is tried once more at once. Whatever still fails is a
`TransientError`: 503 with `Retry-After` to the citizen, never a 500 or 502. The service token
comes from `ServiceTokenClient`, which keeps it until a minute before it expires.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from services.application.domain.applicant import IdentityVerdict
from shared.auth.service_tokens import ServiceTokenClient
from shared.errors import TransientError

IDENTITY_CHECK_PATH = "/internal/v1/accounts/{account_id}/identity-check"


class AccountsClient:
    def __init__(
        self,
        base_url: str,
        tokens: ServiceTokenClient,
        *,
        timeout: tuple[float, float] = (1.0, 2.5),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=1,
            connect=1,
            read=0,  # a slow answer is not asked for again
            status=1,
            backoff_factor=0.1,
            status_forcelist=(502, 503, 504),
            allowed_methods=("POST",),  # the check changes nothing: safe to repeat
            raise_on_status=False,
            respect_retry_after_header=False,  # never sleep a request's worker for seconds
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def check_identity(self, account_id: str, name: str, id_number: str) -> IdentityVerdict:
        """The verdict; an unknown account does not match."""
        url = self.base_url + IDENTITY_CHECK_PATH.format(account_id=account_id)
        try:
            response = self.session.post(
                url,
                json={"name": name, "id_number": id_number},
                headers=self.tokens.headers(),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise TransientError(f"registration service unreachable: {exc}") from exc
        if response.status_code == 404:
            return IdentityVerdict(match=False)
        if response.status_code != 200:
            raise TransientError(f"registration service answered {response.status_code}")
        try:
            body = response.json()
            match = body["match"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientError(f"registration service answered an odd body: {exc}") from exc
        if not isinstance(match, bool):
            raise TransientError("registration service answered an odd body: match not a boolean")
        return IdentityVerdict(match=match)
