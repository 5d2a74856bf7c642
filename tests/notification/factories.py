"""Builders for the notification service's tests: events as the other services publish them
(`Journey`), a clock the test moves, and the service's dependencies on an in-memory database
with fake channel providers (`memory_deps`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.notification import config, models
from services.notification.adapters.providers import DeliveryFailed, OutgoingMessage
from services.notification.deps import Dependencies
from services.notification.domain.channels import CHANNELS
from shared.auth import INTEGRATOR
from shared.config import load_settings
from shared.messaging.envelope import Event, new_event
from shared.personal_data.protection import FieldCipher
from shared.testing.memory import memory_database
from shared.time import utcnow

ID_NUMBER = "11010519491231002X"
SHA = "0" * 64


def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class Journey:
    """One citizen's application, with every id the events share."""

    account_id: str = field(default_factory=_id)
    application_id: str = field(default_factory=_id)
    outlet_id: str = field(default_factory=_id)
    card_id: str = field(default_factory=_id)
    case_id: str = field(default_factory=_id)
    phone: str = "13812345678"
    acceptance_number: str = "SB7K2Q9M"
    bank_code: str = "ICBC"

    def account_registered(self) -> Event:
        return new_event(
            "account.registered",
            {"account_id": self.account_id, "phone": self.phone, "name": "李娜"},
            source="registration",
            subject=self.account_id,
        )

    def account_locked(self) -> Event:
        return new_event(
            "account.locked",
            {"account_id": self.account_id, "reason": "identity_proven_by_another_account"},
            source="registration",
            subject=self.account_id,
        )

    def outlet_upserted(self, name: str = "工商银行海淀支行", **changes) -> Event:
        data = {
            "outlet_id": self.outlet_id,
            "bank_code": self.bank_code,
            "bank_name": "中国工商银行",
            "name": name,
            "district": "海淀区",
            "address": "北京市海淀区中关村大街 1 号",
            "active": True,
            **changes,
        }
        return new_event("outlet.upserted", data, source="printing", subject=self.outlet_id)

    def application_submitted(self) -> Event:
        files = {
            kind: {
                "url": f"http://127.0.0.1:8002/internal/v1/files/{SHA}",
                "sha256": SHA,
                "content_type": "image/jpeg",
            }
            for kind in ("photo", "id_card_front", "id_card_back")
        }
        data = {
            "application_id": self.application_id,
            "account_id": self.account_id,
            "acceptance_number": self.acceptance_number,
            "applicant": {
                "name": "李娜",
                "gender": "female",
                "ethnicity": "汉族",
                "birth_date": "1949-12-31",
                "id_number": ID_NUMBER,
                "phone": self.phone,
                "address": "北京市朝阳区",
                "person_status": "retired",
            },
            "outlet_id": self.outlet_id,
            "bank_code": self.bank_code,
            "files": files,
        }
        return self._event("application.submitted", data, "application")

    def application_cancelled(self) -> Event:
        data = {"application_id": self.application_id, "account_id": self.account_id}
        return self._event("application.cancelled", data, "application")

    def verification(self, outcome: str, **extra) -> Event:
        data = {
            "application_id": self.application_id,
            "account_id": self.account_id,
            "case_id": self.case_id,
            **extra,
        }
        if outcome == "review_required":
            data.setdefault(
                "checks",
                [{"check": "id_card_face_match", "outcome": "review", "detail": "distance 0.58"}],
            )
        if outcome == "rejected":
            data.setdefault(
                "reasons",
                [
                    {"code": "photo_single_face", "detail": "2 faces found"},
                    {"code": "identity_registry_match", "detail": "name differs"},
                ],
            )
        return self._event(f"verification.{outcome}", data, "verification")

    def card(self, status: str, **extra) -> Event:
        data = {
            "card_id": self.card_id,
            "application_id": self.application_id,
            "account_id": self.account_id,
            "bank_code": self.bank_code,
            "outlet_id": self.outlet_id,
            **extra,
        }
        if status == "print_requested":
            data.setdefault("card_serial", "A12345678")
        return new_event(
            f"card.{status}",
            data,
            source="printing",
            subject=self.card_id,
            correlation_id=self.application_id,
        )

    def _event(self, event_type: str, data: dict, source: str) -> Event:
        return new_event(
            event_type,
            data,
            source=source,
            subject=self.application_id,
            correlation_id=self.application_id,
        )

    def happy_path(self) -> list[Event]:
        """Everything from registration to activation, with a failed print and a reprint."""
        return [
            self.account_registered(),
            self.outlet_upserted(),
            self.application_submitted(),
            self.verification("started"),
            self.verification("review_required"),
            self.verification("approved", decided_by="reviewer-1"),
            self.card("print_requested"),
            self.card("print_failed", reason="ribbon jam"),
            self.card("print_requested", reprint=True),
            self.card("printed"),
            self.card("shipped"),
            self.card("ready_for_pickup"),
            self.card("collected"),
            self.card("activated"),
        ]

    def after_activation(self) -> list[Event]:
        """A card's life after activation: lost, unblocked, lost again and replaced, the new
        card cancelled, an expiry notice (docs/printing.md)."""
        return [
            self.card("reported_lost", reported_by="holder"),
            self.card("unblocked", unblocked_at_outlet_id=self.outlet_id),
            self.card("replaced", new_card_id=_id(), replacement_reason="lost"),
            self.card("cancelled", cancellation_reason="holder_request"),
            self.card("expiry_approaching", expiry_date="2036-11-25", days_ahead=90),
        ]


def bank_integrator(
    token_authority, bank_code: str = "ICBC", subject: str | None = None
) -> dict[str, str]:
    """Headers of an integrator whose token names its bank: its subscriptions see that bank's
    cards, outlets and applications (the `Journey` default is ICBC)."""
    return token_authority.headers([INTEGRATOR], subject=subject, bank_code=bank_code)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def move_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


class FakeProvider:
    """A channel provider that keeps what it was given; `failure` makes every send fail."""

    name = "fake"

    def __init__(self, failure: DeliveryFailed | None = None) -> None:
        self.sent: list[OutgoingMessage] = []
        self.failure = failure

    def send(self, message: OutgoingMessage) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.append(message)


def memory_deps(**env: str) -> Dependencies:
    """The notification service's dependencies on a fresh in-memory database, with a fake
    provider on every channel (`deps.providers`) and a cipher that needs no key file."""
    settings = load_settings(
        "notification", {"SSCARD_VAR_DIR": "/nonexistent/sscard-unit-tests", **env}
    )
    deps = Dependencies(
        settings=settings,
        database=memory_database(models.metadata),
        options=config.notification_config(settings),
    )
    # The cached properties, filled with what a unit test needs instead of what they build.
    deps.cipher = FieldCipher(bytes(range(32)))
    deps.providers = {channel: FakeProvider() for channel in CHANNELS}  # type: ignore[assignment]
    return deps
