"""The simulator's small HTTP side (port 8011): health, what it has done, and knobs for demos
and tests.

    GET /healthz                 → 200 while the process runs
    GET /control/v1/status       → counters, connected banks, current settings
    PUT /control/v1/settings     → {step_delay_seconds?, failure_rate?} change them at run time
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from simulators.partner_bank.bank import Stats
from simulators.partner_bank.settings import BankSettings


class ControlServer:
    def __init__(self, settings: BankSettings, stats: Stats) -> None:
        self.settings = settings
        self.stats = stats
        self._server = ThreadingHTTPServer((settings.host, settings.port), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="partner-bank-control", daemon=True
        )

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def status(self) -> dict:
        return {
            **self.stats.snapshot(),
            "settings": {
                "step_delay_seconds": self.settings.step_delay_seconds,
                "failure_rate": self.settings.failure_rate,
            },
        }

    def change(self, body: dict) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        updates = {}
        for name, low, high in (("step_delay_seconds", 0.0, 3600.0), ("failure_rate", 0.0, 1.0)):
            if name not in body:
                continue
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors[name] = ["Must be a number."]
            elif not low <= value <= high:
                errors[name] = [f"Must be between {low} and {high}."]
            else:
                updates[name] = float(value)
        unknown = set(body) - {"step_delay_seconds", "failure_rate"}
        for name in unknown:
            errors[name] = ["Unknown field."]
        if not errors:
            for name, value in updates.items():
                setattr(self.settings, name, value)
        return errors

    def _handler(self):
        control = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def _send(self, status: int, body: dict, content_type="application/json") -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _problem(self, status: int, title: str, **extra) -> None:
                body = {"type": "about:blank", "title": title, "status": status, **extra}
                self._send(status, body, "application/problem+json")

            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._send(200, {"status": "ok", "service": "partner_bank"})
                elif self.path == "/control/v1/status":
                    self._send(200, control.status())
                else:
                    self._problem(404, "Not found")

            def do_PUT(self) -> None:
                if self.path != "/control/v1/settings":
                    self._problem(404, "Not found")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > 10_000:
                    self._problem(413, "Payload too large")
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except (UnicodeDecodeError, json.JSONDecodeError):
                    self._problem(400, "Malformed request")
                    return
                if not isinstance(body, dict):
                    self._problem(422, "Invalid fields", errors={"_schema": ["Not an object."]})
                    return
                errors = control.change(body)
                if errors:
                    self._problem(422, "Invalid fields", errors=errors)
                    return
                self._send(200, control.status())

        return Handler
