"""The identity registry simulator's real app on a real local port, for tests of code that asks
the registry (shared/peers/identity_registry.py and its callers)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import requests
from werkzeug.serving import make_server

from simulators.identity_registry.app import create_app
from simulators.identity_registry.store import PeopleStore, Person


class RegistryServer:
    def __init__(self, directory: Path) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.store = PeopleStore(directory / "registry.sqlite3")
        self._server = make_server("127.0.0.1", 0, create_app(self.store), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add(
        self,
        id_number: str,
        name: str,
        *,
        gender: str = "female",
        birth_date: str = "1990-01-01",
        photo: bytes | None = None,
    ) -> None:
        """Puts a person on file (straight into the store: tests may file any spelling)."""
        person = Person(id_number, name, gender, birth_date, "汉", "北京市朝阳区建国路1号")
        self.store.put(person, photo)

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
