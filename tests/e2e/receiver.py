"""An integrator's webhook endpoint: a real HTTP server that records what it is sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    def __init__(self, public_host: str = "127.0.0.1") -> None:
        """`public_host`: how the platform reaches this machine (from inside containers, the
        Docker host's name); the server then listens on every interface."""
        self.public_host = public_host
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        bind = "127.0.0.1" if public_host == "127.0.0.1" else "0.0.0.0"  # noqa: S104
        self._server = ThreadingHTTPServer((bind, 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.public_host}:{self._server.server_address[1]}/hooks/sscard"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self) -> list[dict]:
        with self._lock:
            return [json.loads(body) for _headers, body in self.requests]

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                self.send_response(204)
                self.end_headers()

        return Handler
