"""The SMS gateway simulator's real app on a real local port, for tests of the code that sends
texts or asks the carriers' real-name check (shared/peers/sms.py and its callers)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import requests
from werkzeug.serving import make_server

from simulators.sms_gateway.app import create_app, seed
from simulators.sms_gateway.store import GatewayStore, Subscriber


class SmsGatewayServer:
    def __init__(self, directory: Path, *, token: str = "", seeded: bool = True) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.store = GatewayStore(directory / "sms_gateway.sqlite3")
        if seeded:
            seed(self.store)
        app = create_app(self.store, token=token)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def texts_to(self, phone: str) -> list[str]:
        """The texts sent to this phone, newest first, read over HTTP as a demo would."""
        response = requests.get(f"{self.url}/sms/v1/messages", params={"phone": phone}, timeout=5)
        response.raise_for_status()
        return [item["text"] for item in response.json()["items"]]

    def record_owner(self, phone: str, name: str, id_number: str) -> None:
        self.store.put_subscriber(Subscriber(phone, name, id_number))

    def faults(self, status: int | None = None, delay_ms: int = 0) -> None:
        response = requests.put(
            f"{self.url}/control/v1/faults",
            json={"status": status, "delay_ms": delay_ms},
            timeout=5,
        )
        response.raise_for_status()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
