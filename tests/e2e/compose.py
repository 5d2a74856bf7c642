"""The same end-to-end tests against `docker compose --profile demo up` (pytest --compose),
where a Docker engine exists: the containers as ops teams run them, reached over their
published ports, with sscardctl run inside the registration container."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
from pathlib import Path

from tests.e2e.stack import ROOT, Stack

PUBLISHED = {
    "registration": 8001,
    "application": 8002,
    "verification": 8003,
    "printing": 8004,
    "notification": 8005,
    "identity_registry": 8010,
    "partner_bank": 8011,
    "sms_gateway": 8012,
}


SERVICES = ("REGISTRATION", "APPLICATION", "VERIFICATION", "PRINTING", "NOTIFICATION")
# sscardctl's own service secret (for `sscardctl trace`), handed to `docker compose exec -e`.
SSCARDCTL_SECRET = secrets.token_urlsafe(32)


def compose_environment() -> dict[str, str]:
    """What .env would hold: fresh secrets strong enough for the production profile (each
    service its own), webhooks allowed to reach the test's receiver."""
    environ = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(32),
        "RABBITMQ_PASSWORD": secrets.token_urlsafe(32),
        "SSCARD_PROFILE": "production",
        "SSCARDCTL_SERVICE_SECRET_SHA256": hashlib.sha256(SSCARDCTL_SECRET.encode()).hexdigest(),
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "PARTNER_BANK_STEP_DELAY_SECONDS": "0.2",
    }
    for service in SERVICES:
        environ[f"POSTGRES_PASSWORD_{service}"] = secrets.token_urlsafe(32)
        environ[f"{service}_PII_KEY"] = base64.b64encode(os.urandom(32)).decode()
        if service != "REGISTRATION":
            secret = secrets.token_urlsafe(32)
            environ[f"{service}_SERVICE_SECRET"] = secret
            environ[f"{service}_SERVICE_SECRET_SHA256"] = hashlib.sha256(
                secret.encode()
            ).hexdigest()
    return environ


class ComposeStack(Stack):
    webhook_host = "host.docker.internal"

    def __init__(self, project: str, docker_ip: str) -> None:
        urls = {name: f"http://{docker_ip}:{port}" for name, port in PUBLISHED.items()}
        super().__init__(Path("/nonexistent"), dict(os.environ), urls, amqp_url="", logs=Path("."))
        self.project = project

    def _compose(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "docker",
                "compose",
                "-f",
                str(ROOT / "docker-compose.yml"),
                "-p",
                self.project,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def sscardctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = self._compose(
            "exec",
            "-T",
            "-e",
            f"SSCARDCTL_SERVICE_SECRET={SSCARDCTL_SECRET}",
            "registration-web",
            "sscardctl",
            *args,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"sscardctl {' '.join(args)} → {result.returncode}: {result.stderr}"
            )
        return result

    def start(self, name: str) -> None:
        self._compose("start", name)

    def kill(self, name: str, sig: int = 9) -> None:
        self._compose("kill", "-s", str(sig), name)

    def stop_all(self) -> None:  # pytest-docker's clean-up brings the project down
        pass
