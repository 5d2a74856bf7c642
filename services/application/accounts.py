"""The adapter to the registration service's account of the caller.

The application service must know that an applicant is the caller, but it does not own
accounts and never reads the registration database. It asks `GET /api/v1/accounts/me` with
the caller's own bearer token, which answers the real name and the masked ID number (first 6
and last 4). That is the strongest check the public contract allows; a stronger one (the full
number compared by the registration service) would replace this module and nothing else.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from services.application.domain.applicant import Account
from shared.errors import Forbidden, TransientError, Unauthorized

ACCOUNT_PATH = "/api/v1/accounts/me"


class AccountsClient:
    def __init__(
        self, base_url: str, *, timeout: tuple[float, float] = (2.0, 5.0), retries: int = 2
    ) -> None:
        self.url = base_url.rstrip("/") + ACCOUNT_PATH
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=0.2,
            status_forcelist=(502, 503, 504),
            allowed_methods=("GET",),
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def current_account(self, bearer_token: str, account_id: str) -> Account:
        """The account behind `bearer_token`, which must be `account_id`'s."""
        try:
            response = self.session.get(
                self.url, headers={"Authorization": f"Bearer {bearer_token}"}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise TransientError(f"registration service unreachable: {exc}") from exc
        if response.status_code == 401:
            raise Unauthorized("The registration service does not accept this token.")
        if response.status_code in (403, 404):
            raise Forbidden("Only a registered citizen account can apply.")
        if response.status_code != 200:
            raise TransientError(f"registration service answered {response.status_code}")
        try:
            body = response.json()
            account = Account(
                account_id=str(body["account_id"]),
                name=str(body["name"]),
                id_number_masked=str(body["id_number_masked"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientError(
                f"registration service answered an unexpected body: {exc}"
            ) from exc
        if account.account_id != account_id:
            raise Forbidden("The token and the account it belongs to disagree.")
        return account
