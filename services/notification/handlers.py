"""What the notification service does with each event it consumes.

Every handler runs inside the consumer's transaction (with the inbox row) and only writes
rows: read models, `queued` notifications for the citizen, and `pending` webhook deliveries
for the subscribers whose scope covers the event. Nothing is sent from here — the dispatcher
does that after this commits, so a redelivered or retried event can never send twice, and the
unique keys on (event, channel) and (subscription, event) hold even if the inbox were
bypassed.

Events of one schema share a handler (every `card.*` status change, every verification
outcome): they differ only in their type, which picks the template.
"""

from __future__ import annotations

from datetime import datetime

from services.notification.deps import Dependencies
from services.notification.domain.webhooks import public_payload
from services.notification.use_cases.contacts import record_registration
from services.notification.use_cases.notices import notify_citizen
from services.notification.use_cases.read_models import save_application, save_outlet
from services.notification.use_cases.subscriptions import queue_webhook_deliveries
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import DependentHandler
from shared.messaging.envelope import Event
from shared.messaging.events import CARD_AFTER_ACTIVATION_EVENT_TYPES
from shared.messaging.topology import CARD_EVENTS, VERIFICATION_OUTCOMES, VERIFICATION_STARTED


def handle_account_registered(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    record_registration(
        uow, deps, account_id=str(event.data["account_id"]), phone=event.data["phone"]
    )


def handle_account_locked(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    # The person who registered first with this ID number learns why they can no longer log
    # in, on the phone they registered with; integrators are not told (not a public event).
    _tell_citizen(deps, uow, event)


def handle_outlet_upserted(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    save_outlet(uow, deps, outlet=event.data, as_of=datetime.fromisoformat(event.time))
    _tell_subscribers(deps, uow, event)


def handle_application_submitted(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    save_application(uow, deps, application=event.data)
    _tell_citizen(deps, uow, event)


def handle_application_cancelled(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _tell_citizen(deps, uow, event)
    _tell_subscribers(deps, uow, event)


def handle_verification_started(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    # Integrators only. The outcome usually follows within seconds, so a "being checked"
    # SMS, WeChat or Alipay message would mostly arrive just before the one that matters;
    # the citizen sees `verifying` in their timeline and the progress look-up instead.
    _tell_subscribers(deps, uow, event)


def handle_verification_outcome(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _tell_citizen(deps, uow, event)
    _tell_subscribers(deps, uow, event)


def handle_card_event(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    _tell_citizen(deps, uow, event)
    _tell_subscribers(deps, uow, event)


def _tell_citizen(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    data = event.data
    notify_citizen(
        uow,
        deps,
        event_id=event.id,
        event_type=event.type,
        account_id=str(data["account_id"]),
        application_id=data.get("application_id"),
        outlet_id=data.get("outlet_id"),
        acceptance_number=data.get("acceptance_number"),
        reasons=data.get("reasons") or (),
    )


def _tell_subscribers(deps: Dependencies, uow: UnitOfWork, event: Event) -> None:
    data = event.data
    queue_webhook_deliveries(
        uow,
        deps,
        event_id=event.id,
        event_type=event.type,
        payload=public_payload(event).decode(),
        account_id=_text(data.get("account_id")),
        bank_code=_text(data.get("bank_code")),
        application_id=_text(data.get("application_id")),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


HANDLERS: dict[str, DependentHandler] = {
    "account.registered": handle_account_registered,
    "account.locked": handle_account_locked,
    "outlet.upserted": handle_outlet_upserted,
    "application.submitted": handle_application_submitted,
    "application.cancelled": handle_application_cancelled,
    VERIFICATION_STARTED: handle_verification_started,
    **dict.fromkeys(VERIFICATION_OUTCOMES, handle_verification_outcome),
    **dict.fromkeys(CARD_EVENTS, handle_card_event),
    **dict.fromkeys(CARD_AFTER_ACTIVATION_EVENT_TYPES, handle_card_event),
}
