"""Events, files and dependencies the printing service's tests are built from: the events it
consumes, the application service's file endpoint, and for use-case unit tests its
dependencies on an in-memory database with small fakes for everything outside it."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pika.spec import BasicProperties
from PIL import Image, ImageDraw

from services.printing import config, models
from services.printing.deps import Dependencies
from shared.auth.keys import SigningKey
from shared.auth.tokens import JwksClient, TokenVerifier
from shared.config import load_settings
from shared.errors import Unauthorized
from shared.messaging.claim_check import INTERNAL_FILES_PATH, ClaimedFileGone, claim_check_url
from shared.messaging.consumer import Delivery
from shared.messaging.envelope import CONTENT_TYPE, Event, new_event
from shared.personal_data.protection import FieldCipher, FileCipher
from shared.testing.memory import memory_database

ICBC_XICHENG = "d93b57ed-c814-56a3-8ea1-245377fd863d"
CCB_DONGCHENG = "920f3744-f3d0-5d21-9359-b418f38a8a08"
ID_NUMBER = "11010519491231002X"


@functools.cache
def card_photo() -> bytes:
    """A 358×441 JPEG; what is in it does not matter to printing."""
    buffer = io.BytesIO()
    image = Image.new("RGB", (358, 441), "white")
    ImageDraw.Draw(image).ellipse((90, 80, 270, 300), fill=(200, 160, 130))
    image.save(buffer, "JPEG", quality=70, dpi=(350, 350))
    return buffer.getvalue()


class FileServer:
    """The application service's internal file endpoint, as the printing service sees it: a
    claim-check URL that answers only to a valid service token."""

    def __init__(self, token_authority) -> None:
        self.files: dict[str, bytes] = {}
        self.fetches = 0
        self.verifier = TokenVerifier(JwksClient(token_authority.url + "/.well-known/jwks.json"))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, content: bytes, content_type: str = "image/jpeg") -> dict:
        sha256 = hashlib.sha256(content).hexdigest()
        self.files[sha256] = content
        return {
            "url": claim_check_url(self.url, sha256),
            "sha256": sha256,
            "content_type": content_type,
        }

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self
        prefix = INTERNAL_FILES_PATH.split("{")[0]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                try:
                    principal = server.verifier.verify(token)
                except Unauthorized:
                    principal = None
                content = server.files.get(self.path.removeprefix(prefix))
                if principal is None or not principal.is_service:
                    self.send_response(401)
                    self.end_headers()
                    return
                if content is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                server.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler


@dataclass
class Application:
    """One citizen's application as the printing service hears about it."""

    files: FileServer
    bank_code: str = "ICBC"
    outlet_id: str = ICBC_XICHENG
    application_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    account_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    name: str = "张秀英"
    id_number: str = ID_NUMBER
    photo: bytes = field(default_factory=card_photo)

    def submitted(self) -> Event:
        photo = self.files.add(self.photo)
        id_card = self.files.add(b"id card image", "image/png")
        return new_event(
            "application.submitted",
            {
                "application_id": self.application_id,
                "account_id": self.account_id,
                "acceptance_number": "SS" + self.application_id[:8].upper(),
                "applicant": {
                    "name": self.name,
                    "gender": "female",
                    "ethnicity": "汉族",
                    "birth_date": "1949-12-31",
                    "id_number": self.id_number,
                    "phone": "13800138000",
                    "address": "北京市西城区金融大街1号",
                    "person_status": "retired",
                },
                "outlet_id": self.outlet_id,
                "bank_code": self.bank_code,
                "files": {"photo": photo, "id_card_front": id_card, "id_card_back": id_card},
            },
            source="application",
            subject=self.application_id,
            correlation_id=self.application_id,
        )

    def approved(self) -> Event:
        return new_event(
            "verification.approved",
            {
                "application_id": self.application_id,
                "account_id": self.account_id,
                "case_id": str(uuid.uuid4()),
            },
            source="verification",
            subject=self.application_id,
            correlation_id=self.application_id,
        )

    def rejected(self) -> Event:
        return new_event(
            "verification.rejected",
            {
                "application_id": self.application_id,
                "account_id": self.account_id,
                "case_id": str(uuid.uuid4()),
                "reasons": [{"code": "face_mismatch", "detail": "not the same person"}],
                "decided_by": None,
            },
            source="verification",
            subject=self.application_id,
            correlation_id=self.application_id,
        )

    def cancelled(self) -> Event:
        return new_event(
            "application.cancelled",
            {"application_id": self.application_id, "account_id": self.account_id},
            source="application",
            subject=self.application_id,
            correlation_id=self.application_id,
        )


def bank_report(
    card_id: str,
    status: str,
    *,
    bank_code: str = "ICBC",
    reason: str | None = None,
    card_serial: str | None = None,
    bank_account_masked: str | None = None,
) -> Event:
    data = {"card_id": card_id, "status": status, "occurred_at": "2026-11-25T10:00:00Z"}
    if reason:
        data["reason"] = reason
    if card_serial:
        data["card_serial"] = card_serial
    if bank_account_masked:
        data["bank_account_masked"] = bank_account_masked
    return new_event("bank.card_status", data, source=f"/banks/{bank_code}", subject=card_id)


def delivery(event: Event, routing_key: str | None = None, *, tag: int = 1) -> Delivery:
    """A delivery as the broker would hand it to the consumer, for driving
    ConsumerRunner.process_batch without a broker."""
    exchange = "sscard.bank-feedback" if event.type == "bank.card_status" else "sscard.events"
    return Delivery(
        delivery_tag=tag,
        properties=BasicProperties(
            content_type=CONTENT_TYPE, message_id=event.id, type=event.type, headers={}
        ),
        body=event.to_json(),
        exchange=exchange,
        routing_key=routing_key or event.type,
        redelivered=False,
    )


def body_of(event: Event) -> dict:
    return json.loads(event.to_json())


# -- dependencies for use-case unit tests -------------------------------------------------------


class FakeApplicationFiles:
    """The application service's files by claim check, kept in a dict by SHA-256."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetches = 0

    def add(self, content: bytes, content_type: str = "image/jpeg") -> dict:
        sha256 = hashlib.sha256(content).hexdigest()
        self.files[sha256] = content
        url = claim_check_url("http://application.test", sha256)
        return {"url": url, "sha256": sha256, "content_type": content_type}

    def fetch(self, reference: dict) -> bytes:
        self.fetches += 1
        if reference["sha256"] not in self.files:
            raise ClaimedFileGone(f"claimed file {reference['sha256']} no longer exists")
        return self.files[reference["sha256"]]


class FakeSigner:
    kid = "test-print-key"

    def sign(self, payload: bytes) -> bytes:
        return hashlib.sha256(payload).digest()


class FakePrintKeys:
    def current(self) -> FakeSigner:
        return FakeSigner()


class FakeEcardKeys:
    """A real Ed25519 key ring of one key, in memory: e-card payloads must really verify."""

    def __init__(self) -> None:
        self.key = SigningKey("test-ecard-key", Ed25519PrivateKey.generate())

    def current(self) -> SigningKey:
        return self.key

    def verification_keys(self) -> list[SigningKey]:
        return [self.key]


class FakePrintQueues:
    """Remembers the banks whose print queue was declared, in order."""

    def __init__(self) -> None:
        self.declared: list[str] = []

    def declare(self, bank_codes) -> None:
        self.declared.extend(bank_codes)


def memory_deps() -> Dependencies:
    """The printing service's dependencies on a fresh in-memory database, with fakes for the
    application service's files, the print signing keys and the broker's print queues."""
    settings = load_settings("printing", {"SSCARD_VAR_DIR": "/nonexistent/sscard-unit-tests"})
    deps = Dependencies(
        settings=settings,
        database=memory_database(models.metadata),
        options=config.options(settings),
    )
    # The cached properties, filled with what a unit test needs instead of what they build.
    deps.cipher = FieldCipher(bytes(range(32)))
    deps.photo_cipher = FileCipher(bytes(range(32)))
    deps.application_files = FakeApplicationFiles()  # type: ignore[assignment]
    deps.print_keys = FakePrintKeys()  # type: ignore[assignment]
    deps.print_queues = FakePrintQueues()  # type: ignore[assignment]
    deps.ecard_keys = FakeEcardKeys()  # type: ignore[assignment]
    return deps
