"""POSTs one signed webhook to an integrator's endpoint through the destination guard, and says
what came of it: the status code, or why there was none."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import urllib3

from services.notification.adapters.outbound import (
    DestinationGuard,
    describe_failure,
    guarded_pool_manager,
)
from services.notification.domain.delivery import http_error

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class PostResult:
    duration_ms: int
    status_code: int | None
    error: str | None


class WebhookSender:
    """Safe to share between threads: one connection pool of `pool_size` per host."""

    def __init__(
        self,
        guard: DestinationGuard,
        *,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int,
    ) -> None:
        self._http = guarded_pool_manager(guard, maxsize=pool_size)
        self._longest = connect_timeout + read_timeout
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        """Never raises: a sending thread must always report back."""
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = self._http.request(
                "POST",
                url,
                body=body,
                headers=headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
            status_code = response.status
            self._read_some(response, started)
            error = http_error(status_code)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            error = describe_failure(exc)
        except Exception as exc:
            log.exception("webhook POST to %s crashed", url)
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = int((time.perf_counter() - started) * 1000)
        return PostResult(duration_ms, status_code, error)

    def _read_some(self, response: urllib3.BaseHTTPResponse, started: float) -> None:
        """Reads a little of the answer, so the connection can be reused; a receiver that
        sends a lot, or slowly, is cut off (its status code is all that counts)."""
        deadline = started + self._longest
        size = 0
        try:
            for chunk in response.stream(8192, decode_content=False):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES or time.perf_counter() > deadline:
                    response.close()  # the rest is unread: the connection cannot be reused
                    return
        except (urllib3.exceptions.HTTPError, OSError):
            response.close()
            return
        response.release_conn()
