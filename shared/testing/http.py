"""Real HTTP servers on free local ports, served from daemon threads: the stand-ins tests put
beside the code under test (a JWKS, a webhook receiver, a peer service)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log every request and can answer JSON."""

    def log_message(self, *_args) -> None:
        pass

    def send_json(self, status: int, body: object) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class LocalServer:
    """`handler` is a BaseHTTPRequestHandler class. `public_host`: how the code under test
    reaches this machine (a container's name for the Docker host, say); the server then
    listens on every interface instead of loopback only."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], public_host: str = "127.0.0.1"):
        self.public_host = public_host
        bind = "127.0.0.1" if public_host == "127.0.0.1" else "0.0.0.0"  # noqa: S104
        self._server = ThreadingHTTPServer((bind, 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.public_host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
