"""Builders for the verification tests: resident ID numbers, applicants, submitted events;
the two outside parties the worker talks to — the identity registry simulator and the
application service's claim-check endpoint — each served over real HTTP on a local port; and,
for the use cases' unit tests, dependencies on a database in memory with fake adapters."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from pika.spec import BasicProperties
from werkzeug.serving import make_server

from services.verification import models
from services.verification.deps import Dependencies
from services.verification.domain.checks import FaceFound, ImageFacts
from shared.auth.tokens import JwksClient, TokenVerifier
from shared.config import load_settings
from shared.errors import TransientError, Unauthorized
from shared.messaging.claim_check import ClaimedFileGone, claim_check_url
from shared.messaging.consumer import Delivery
from shared.messaging.envelope import Event, new_event
from shared.messaging.topology import HEADER_RETRIES
from shared.personal_data.resident_id import check_character
from shared.testing.memory import memory_database
from simulators.identity_registry.app import create_app as create_registry_app
from simulators.identity_registry.store import PeopleStore, Person

_sequence = itertools.count(11)


def id_number(birth: str = "19800101", *, gender: str = "male", region: str = "110105") -> str:
    """A fresh valid resident ID number (GB 11643) for the given birth date and gender."""
    while True:
        sequence = next(_sequence) % 1000
        if (sequence % 2 == 1) == (gender == "male"):
            break
    body = f"{region}{birth}{sequence:03d}"
    return body + check_character(body)


def person(name: str = "王小明", *, gender: str = "male", birth_date: str = "1980-01-01") -> dict:
    return {
        "id_number": id_number(birth_date.replace("-", ""), gender=gender),
        "name": name,
        "gender": gender,
        "birth_date": birth_date,
        "ethnicity": "汉",
        "address": "北京市朝阳区建国路1号",
    }


class RegistryServer:
    """The identity registry simulator's real app, on a real port."""

    def __init__(self, directory: Path) -> None:
        # One line per request is noise in tests and drowns a benchmark's report.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.store = PeopleStore(directory / "registry.sqlite3")
        self._server = make_server("127.0.0.1", 0, create_registry_app(self.store), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, entry: dict, photo: bytes | None = None) -> None:
        self.store.put(Person(**entry), photo)

    def faults(self, status: int | None = None, delay_ms: int = 0) -> None:
        response = requests.put(
            f"{self.url}/control/v1/faults",
            json={"status": status, "delay_ms": delay_ms},
            timeout=5,
        )
        response.raise_for_status()

    def stop(self) -> None:
        self._server.shutdown()


class FileServer:
    """Plays the application service's `GET /internal/v1/files/{sha256}`: answers only
    requests with a valid service token, like the real endpoint."""

    def __init__(self, jwks_url: str) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        verifier = TokenVerifier(JwksClient(jwks_url))
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                scheme, _, token = self.headers.get("Authorization", "").partition(" ")
                try:
                    if scheme != "Bearer" or not verifier.verify(token).is_service:
                        raise Unauthorized("not a service")
                except Unauthorized:
                    self.send_response(401)
                    self.end_headers()
                    return
                digest = self.path.rsplit("/", 1)[-1]
                content = owner.files.get(digest)
                if content is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def put(self, content: bytes, content_type: str = "image/jpeg") -> dict:
        digest = hashlib.sha256(content).hexdigest()
        self.files[digest] = content
        return {
            "url": claim_check_url(self.url, digest),
            "sha256": digest,
            "content_type": content_type,
        }

    def stop(self) -> None:
        self._server.shutdown()


def submitted_event(
    files: FileServer,
    entry: dict,
    *,
    photo: bytes,
    id_card_front: bytes,
    id_card_back: bytes,
    application_id: str | None = None,
    **applicant_changes,
) -> Event:
    applicant = {
        "name": entry["name"],
        "gender": entry["gender"],
        "ethnicity": entry["ethnicity"],
        "birth_date": entry["birth_date"],
        "id_number": entry["id_number"],
        "phone": "13800138000",
        "address": entry["address"],
        "person_status": "employed",
        **applicant_changes,
    }
    application_id = application_id or str(uuid.uuid4())
    data = {
        "application_id": application_id,
        "account_id": str(uuid.uuid4()),
        "acceptance_number": "A" + uuid.uuid4().hex[:7].upper(),
        "applicant": applicant,
        "outlet_id": str(uuid.uuid4()),
        "bank_code": "ICBC",
        "files": {
            "photo": files.put(photo, "image/jpeg"),
            "id_card_front": files.put(id_card_front, "image/png"),
            "id_card_back": files.put(id_card_back, "image/png"),
        },
    }
    return new_event(
        "application.submitted",
        data,
        source="application",
        subject=application_id,
        correlation_id=application_id,
    )


def cancelled_event(application_id: str, account_id: str | None = None) -> Event:
    return new_event(
        "application.cancelled",
        {"application_id": application_id, "account_id": account_id or str(uuid.uuid4())},
        source="application",
        subject=application_id,
        correlation_id=application_id,
    )


def card_event(event_type: str, application_id: str, card_id: str | None = None) -> Event:
    data = {
        "card_id": card_id or str(uuid.uuid4()),
        "application_id": application_id,
        "account_id": str(uuid.uuid4()),
        "bank_code": "ICBC",
        "outlet_id": str(uuid.uuid4()),
    }
    if event_type == "card.print_requested":
        data["card_serial"] = "A12345678"
    return new_event(event_type, data, source="printing", subject=application_id)


def delivery(event: Event, *, retries: int = 0, tag: int = 1) -> Delivery:
    """What the broker hands the consumer runner for `event`, `retries` times retried."""
    return Delivery(
        delivery_tag=tag,
        properties=BasicProperties(
            message_id=event.id,
            type=event.type,
            content_type="application/cloudevents+json",
            headers={HEADER_RETRIES: retries} if retries else {},
        ),
        body=event.to_json(),
        exchange="sscard.events",
        routing_key=event.type,
        redelivered=False,
    )


def photo_base64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# -- the use cases' unit tests: fake adapters -----------------------------------------------------
GOOD_FACE = FaceFound(width=200, eye_line_above_bottom=290, area=200 * 200)


def face_facts(encoding: float = 0.0, *, photo: bool = True) -> ImageFacts:
    """What the analyser finds in a card photo (within every rule) or an ID card front, with
    one face whose encoding is `encoding` in its first dimension: two images are of the same
    person when their encodings are close."""
    vector = (encoding,) + (0.0,) * 127
    if not photo:
        return ImageFacts(readable=True, faces=(GOOD_FACE,), encoding=vector)
    return ImageFacts(
        readable=True,
        format="JPEG",
        width=358,
        height=441,
        mode="RGB",
        size_bytes=20 * 1024,
        faces=(GOOD_FACE,),
        encoding=vector,
    )


class FakeRegistry:
    """The identity registry: people and their photos on file by ID number, or down (the
    whole registry, or only its photo endpoint)."""

    def __init__(self) -> None:
        self.people: dict[str, dict] = {}
        self.photos: dict[str, bytes] = {}
        self.down = False
        self.photos_down = False

    def add(self, entry: dict, *, photo: bytes | None = None) -> dict:
        self.people[entry["id_number"]] = entry
        if photo is not None:
            self.photos[entry["id_number"]] = photo
        return entry

    def get_person(self, id_number: str) -> dict | None:
        if self.down:
            raise TransientError("identity registry answered 503")
        return self.people.get(id_number)

    def get_photo(self, id_number: str) -> bytes | None:
        if self.down or self.photos_down:
            raise TransientError("identity registry answered 503")
        return self.photos.get(id_number)


class FakeFiles:
    """The application service's claim-checked files, by SHA-256."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, content: bytes, content_type: str = "image/jpeg") -> dict:
        digest = hashlib.sha256(content).hexdigest()
        self.files[digest] = content
        return {"url": f"memory://{digest}", "sha256": digest, "content_type": content_type}

    def fetch(self, reference: dict) -> bytes:
        try:
            return self.files[reference["sha256"]]
        except KeyError:
            raise ClaimedFileGone(f"claimed file {reference['sha256']} no longer exists") from None


class FakeAnalyser:
    """Face analysis by image content, as told; remembers every batch it was given."""

    def __init__(self) -> None:
        self.facts: dict[bytes, ImageFacts] = {}
        self.batches: list[list[str]] = []

    def analyse(self, images: list[bytes], kinds: list[str] | None = None) -> list[ImageFacts]:
        self.batches.append(list(kinds or []))
        return [self.facts[image] for image in images]

    def close(self) -> None:
        pass


def memory_deps() -> Dependencies:
    """The verification service's dependencies on a fresh database in memory, with fake
    adapters (the identity registry, the claim-checked files, the face analyser)."""
    settings = load_settings(
        "verification",
        {"SSCARD_PII_KEY": base64.b64encode(b"k" * 32).decode(), "SSCARD_VAR_DIR": "/nonexistent"},
    )
    deps = Dependencies(settings, memory_database(models.metadata))
    deps.registry = FakeRegistry()
    deps.files = FakeFiles()
    deps.analyser = FakeAnalyser()
    return deps
