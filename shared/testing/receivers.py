"""Webhook endpoints and channel gateways for tests: real HTTP receivers that record every
request, answer from a script, and can hang until released."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.testing.http import LocalServer, QuietHandler


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request arrived

    def json(self):
        return json.loads(self.body)


class Receiver:
    """`statuses`: the answers, in order (then `default`); `answer(request, earlier)`: an answer
    decided per request instead; `hang`: requests block until it is set (or `hang_limit`
    seconds pass), as an endpoint that never answers does."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        *,
        default: int = 200,
        hang: threading.Event | None = None,
        hang_limit: float = 30.0,
        answer: Callable[[Received, list[Received]], int] | None = None,
        public_host: str = "127.0.0.1",
    ) -> None:
        self.statuses = list(statuses or [])
        self.default = default
        self.hang = hang
        self.hang_limit = hang_limit
        self.answer = answer
        self.requests: list[Received] = []
        self.concurrent = 0
        self.max_concurrent = 0
        self._condition = threading.Condition()
        self._server = LocalServer(self._handler(), public_host)

    @property
    def url(self) -> str:
        return self._server.base_url + "/hooks/sscard"

    def start(self) -> Receiver:
        self._server.start()
        return self

    def stop(self) -> None:
        if self.hang is not None:
            self.hang.set()
        self._server.stop()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def events(self) -> list[dict]:
        """The JSON bodies received so far (CloudEvents, for webhooks)."""
        with self._condition:
            return [request.json() for request in self.requests]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"receiver got {len(self.requests)} of {count} requests in {timeout}s"
                    )
                self._condition.wait(remaining)
            return list(self.requests)

    def _answer(self, request: Received) -> int:
        with self._condition:
            index = len(self.requests)
            self.requests.append(request)
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
            self._condition.notify_all()
        if self.answer is not None:
            with self._condition:
                earlier = self.requests[:index]
            return self.answer(request, earlier)
        if self.hang is not None:
            self.hang.wait(self.hang_limit)
        return self.statuses[index] if index < len(self.statuses) else self.default

    def _done(self) -> None:
        with self._condition:
            self.concurrent -= 1

    def _handler(self):
        receiver = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Received(self.path, dict(self.headers.items()), body, time.monotonic())
                try:
                    status = receiver._answer(request)
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (timeout)
                finally:
                    receiver._done()

        return Handler
