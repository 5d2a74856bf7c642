"""The adapter to the registration service: is the caller the applicant?

The application service does not own accounts and never reads the registration database. It
asks the registration service's internal identity check, with its own service token, whether
the caller's account has exactly this real name and this ID number; the full number is
compared there (by its blind index) and only the verdict comes back.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from services.application.domain.applicant import IdentityVerdict
from shared.auth.service_tokens import ServiceTokenClient
from shared.errors import Forbidden, TransientError

IDENTITY_CHECK_PATH = "/internal/v1/accounts/{account_id}/identity-check"


class AccountsClient:
    def __init__(
        self,
        base_url: str,
        tokens: ServiceTokenClient,
        *,
        timeout: tuple[float, float] = (2.0, 5.0),
        retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=0.2,
            status_forcelist=(502, 503, 504),
            allowed_methods=("GET", "POST"),  # the check changes nothing: safe to repeat
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def check_identity(self, account_id: str, name: str, id_number: str) -> IdentityVerdict:
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
            raise Forbidden("Only a registered citizen account can apply.")
        if response.status_code != 200:
            raise TransientError(f"registration service answered {response.status_code}")
        try:
            match = response.json()["match"]
            if not isinstance(match, bool):
                raise TypeError("match is not a boolean")
            # The check answers one verdict, `{match}`, true only for a confirmed account.
            return IdentityVerdict(name_matches=match, id_number_matches=match)
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientError(f"registration service answered an odd body: {exc}") from exc
