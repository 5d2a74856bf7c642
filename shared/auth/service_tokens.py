"""Service tokens: how one sscard service authenticates to another's internal endpoints.

The calling service presents its name and its own secret (`<NAME>_SERVICE_SECRET`, HTTP Basic)
to the registration service's `POST /api/v1/service-tokens` and receives a short-lived JWT with
the role `service` naming it (`service:<name>`), verified by the callee like any other token;
each internal endpoint admits only the services it lists (shared.web.auth.requires_service).
The token is cached and renewed from a minute before it expires (ServiceTokenClient says how a
slow registration is met).
"""

from __future__ import annotations

import logging
import threading
import time

import requests

from shared.errors import TransientError

log = logging.getLogger(__name__)

SERVICE_TOKEN_PATH = "/api/v1/service-tokens"  # noqa: S105 — a path, not a secret


class ServiceTokenClient:
    """A service token for this service, fetched once and kept until shortly before it expires.

    From `renew_before` seconds before expiry one caller renews it while the others go on using
    the token in hand, and a failed renewal (registration slow or down) keeps the token in hand
    until `min_remaining` seconds before its expiry, asking again every `retry_interval`
    seconds: a busy registration service does not hold up every call to a peer. Without a token
    in hand, a fetch that failed less than `retry_interval` seconds ago fails the next at once."""

    def __init__(
        self,
        registration_url: str,
        service: str,
        secret: str,
        *,
        timeout: float = 3.0,
        renew_before: float = 60.0,
        min_remaining: float = 10.0,
        retry_interval: float = 5.0,
    ):
        self.url = registration_url.rstrip("/") + SERVICE_TOKEN_PATH
        self.service = service
        self.secret = secret
        self.timeout = timeout
        self.renew_before = renew_before
        self.min_remaining = min_remaining
        self.retry_interval = retry_interval
        self._token: str | None = None
        self._expires_at = 0.0
        self._attempted_at = float("-inf")
        self._failed = False
        self._lock = threading.Lock()

    def token(self) -> str:
        now = time.monotonic()
        token = self._token
        if token is not None and now < self._expires_at - self.renew_before:
            return token
        if token is not None and now < self._expires_at - self.min_remaining:
            # Renewal due: one caller renews, nobody waits for it, a failure keeps this one.
            if now - self._attempted_at >= self.retry_interval and self._lock.acquire(
                blocking=False
            ):
                try:
                    self._fetch()
                except TransientError as exc:
                    log.warning("keeping the service token in hand: %s", exc)
                finally:
                    self._lock.release()
            return self._token or token
        with self._lock:
            now = time.monotonic()
            if self._token is None or now >= self._expires_at - self.min_remaining:
                if now - self._attempted_at < self.retry_interval and self._failed:
                    # It failed a moment ago (the revocation list's first refresh, say): answer
                    # at once rather than wait on a slow registration twice in one request.
                    raise TransientError("cannot obtain a service token: registration failed")
                self._fetch()
            assert self._token is not None
            return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def _fetch(self) -> None:
        started = self._attempted_at = time.monotonic()
        try:
            response = requests.post(
                self.url, auth=(self.service, self.secret), timeout=self.timeout
            )
            response.raise_for_status()
            body = response.json()
            token, lifetime = body["access_token"], int(body["expires_in"])
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            self._failed = True
            raise TransientError(f"cannot obtain a service token: {exc}") from exc
        self._failed = False
        self._token = token
        # From when it was asked for: the token's own clock started no later.
        self._expires_at = started + lifetime
