"""The adapter to the national identity registry (in development, its simulator). Everything
sscard asks the registry goes through here; its base URL is configuration
(`IDENTITY_REGISTRY_URL`), so the real registry replaces the simulator without a code change."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.errors import TransientError


class IdentityRegistryClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = (2.0, 5.0),
        retries: int = 3,
        backoff_factor: float = 0.2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=backoff_factor,
            status_forcelist=(429, 502, 503, 504),
            allowed_methods=("GET",),
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def _get(self, path: str) -> requests.Response | None:
        try:
            response = self.session.get(self.base_url + path, timeout=self.timeout)
        except requests.RequestException as exc:
            # Not the exception's text: it carries the URL, and with it the ID number.
            raise TransientError(f"identity registry unreachable ({type(exc).__name__})") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TransientError(f"identity registry answered {response.status_code}")
        return response

    def get_person(self, id_number: str) -> dict[str, Any] | None:
        """`{id_number, name, gender, birth_date, ethnicity, address}`, or None when unknown."""
        response = self._get(f"/registry/v1/people/{quote(id_number, safe='')}")
        return response.json() if response is not None else None

    def get_photo(self, id_number: str) -> bytes | None:
        """The JPEG photo on file, or None when there is none."""
        response = self._get(f"/registry/v1/people/{quote(id_number, safe='')}/photo")
        return response.content if response is not None else None
