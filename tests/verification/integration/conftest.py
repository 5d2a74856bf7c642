"""The verification service against real PostgreSQL (or SQLite) and RabbitMQ, with the identity
registry simulator and a claim-check file server on local ports."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from services.verification import models
from services.verification.app import create_app
from services.verification.deps import Dependencies, build
from services.verification.handlers import HANDLERS
from shared.config import Settings
from shared.db.uow import Database
from shared.messaging.consumer import ConsumerRunner, Handler, Settled, bind_handlers
from shared.messaging.envelope import Event, parse_event
from tests.support import images
from tests.verification.factories import (
    FileServer,
    RegistryServer,
    delivery,
    person,
    submitted_event,
)


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    server = RegistryServer(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def file_server(token_authority):
    server = FileServer(token_authority.url + "/.well-known/jwks.json")
    yield server
    server.stop()


@dataclass
class Verification:
    """One verification service under test: its settings, database and dependencies, and the
    consumer runner its worker would run (driven through its `process_batch` seam here, or
    started against the broker by the tests that need one)."""

    settings: Settings
    database: Database
    deps: Dependencies
    registry: RegistryServer
    files: FileServer

    @property
    def handlers(self) -> dict[str, Handler]:
        """The worker's handlers, bound to these dependencies."""
        return bind_handlers(HANDLERS, self.deps)

    @property
    def runner(self) -> ConsumerRunner:
        return ConsumerRunner(self.settings, self.database, self.handlers)

    def deliver(self, event: Event, *, retries: int = 0) -> Settled:
        [settled] = self.runner.process_batch([delivery(event, retries=retries)])
        return settled

    def verify(self, submitted: Event, *, retries: int = 0) -> Settled:
        """The whole verification of a submission, as the worker does it: `submitted` opens the
        case, and the `verification.started` it announces brings the checks (`retries` times
        retried). Returns how the checks' delivery was settled."""
        self.deliver(submitted)
        return self.deliver(self.started(submitted.data["application_id"]), retries=retries)

    def started(self, application_id: str) -> Event:
        """The `verification.started` in the outbox for this application."""
        [event] = [
            e
            for e in self.verification_events(application_id)
            if e["type"] == "verification.started"
        ]
        return parse_event(json.dumps(event).encode())

    def applicant(self, *, on_file: str | None = "obama", **changes) -> dict:
        """A fresh person in the identity registry, whose photo on file is `on_file`'s card
        photo (the default card photo's person), or who has none (`on_file=None`)."""
        entry = {**person(), **changes}
        self.registry.add(entry, images.card_photo(on_file) if on_file is not None else None)
        return entry

    def submitted(
        self,
        entry: dict,
        *,
        photo: bytes | None = None,
        id_card_front: bytes | None = None,
        **changes,
    ) -> Event:
        return submitted_event(
            self.files,
            entry,
            photo=photo if photo is not None else images.card_photo("obama"),
            id_card_front=id_card_front
            if id_card_front is not None
            else images.id_card_front("obama2"),
            id_card_back=images.id_card_back(),
            **changes,
        )

    def case(self, application_id: str) -> models.VerificationCase | None:
        with self.database.session_factory() as session:
            return session.execute(
                select(models.VerificationCase).where(
                    models.VerificationCase.application_id == application_id
                )
            ).scalar_one_or_none()

    def case_by_id(self, case_id: str) -> models.VerificationCase | None:
        with self.database.session_factory() as session:
            return session.get(models.VerificationCase, case_id)

    def checks(self, application_id: str) -> dict[str, models.CaseCheck]:
        case = self.case(application_id)
        assert case is not None, "no case was recorded"
        with self.database.session_factory() as session:
            rows = session.execute(
                select(models.CaseCheck).where(models.CaseCheck.case_id == case.case_id)
            ).scalars()
            return {row.check: row for row in rows}

    def verification_events(self, application_id: str | None = None) -> list[dict]:
        """Verification events in the outbox (what the relay will publish), oldest first."""
        table = self.database.outbox.table
        with self.database.session_factory() as session:
            bodies = session.execute(select(table.c.body).order_by(table.c.seq)).scalars()
            events = [json.loads(body) for body in bodies]
        return [
            e
            for e in events
            if e["type"].startswith("verification.")
            and (application_id is None or e["data"]["application_id"] == application_id)
        ]

    def outcome_events(self, application_id: str | None = None) -> list[dict]:
        """The outcomes among them (approved, review_required, rejected)."""
        return [
            e
            for e in self.verification_events(application_id)
            if e["type"] != "verification.started"
        ]


@contextmanager
def verification_service(settings, registry, file_server, analyser, analysis_memo):
    """The verification service's worker side on `settings`, with its peers in place."""
    deps = build(settings)
    # The session's analyser and memo: each test image has its faces found once.
    deps.analyser = analyser
    deps.memo = analysis_memo
    registry.faults(None, 0)
    try:
        yield Verification(settings, deps.database, deps, registry, file_server)
    finally:
        registry.faults(None, 0)
        deps.database.dispose()


@pytest.fixture
def verification(settings_factory, registry, file_server, analyser, analysis_memo):
    settings = settings_factory(
        "verification",
        IDENTITY_REGISTRY_URL=registry.url,
        APPLICATION_URL=file_server.url,
        VERIFICATION_REGISTRY_READ_TIMEOUT="0.5",
        VERIFICATION_REGISTRY_RETRIES="0",
    )
    with verification_service(settings, registry, file_server, analyser, analysis_memo) as service:
        yield service


@pytest.fixture
def api(verification):
    app = create_app(verification.settings)
    app.testing = True
    yield app.test_client()
    app.extensions["sscard"].database.dispose()
