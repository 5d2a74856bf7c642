"""What the notification service does with each event it consumes.

Every handler runs inside the consumer's transaction (with the inbox row) and only writes
rows: read models, `queued` notifications for the citizen, and `pending` webhook deliveries
for subscribers. Nothing is sent from here — the dispatcher does that after this commits, so
a redelivered or retried event can never send twice, and the unique keys on (event, channel)
and (subscription, event) hold even if the inbox were bypassed.

Events of one schema share a handler (every `card.*` status change, every verification
outcome): they differ only in their type, which picks the template.
"""

from __future__ import annotations

from datetime import datetime

from services.notification import dao
from services.notification.domain.channels import normalise_phone
from services.notification.domain.notices import Facts, compose, recipients_for
from services.notification.domain.templates import TemplateBook
from services.notification.domain.webhooks import public_payload, subscribes_to
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Event
from shared.messaging.topology import CARD_EVENTS, VERIFICATION_OUTCOMES, VERIFICATION_STARTED
from shared.uow import UnitOfWork

TEMPLATES = TemplateBook()


def handle_account_registered(uow: UnitOfWork, event: Event) -> None:
    account_id = str(event.data["account_id"])
    phone = normalise_phone(event.data["phone"])
    dao.dao_save_contact(uow.session, account_id, phone)
    dao.dao_bind_channel(uow.session, account_id, "sms", phone, None, dao.ACCOUNT_SOURCE)


def handle_outlet_upserted(uow: UnitOfWork, event: Event) -> None:
    dao.dao_save_outlet(uow.session, event.data, datetime.fromisoformat(event.time))
    queue_webhook_deliveries(uow, event)


def handle_application_submitted(uow: UnitOfWork, event: Event) -> None:
    dao.dao_save_application(uow.session, event.data)
    notify_citizen(uow, event)


def handle_application_cancelled(uow: UnitOfWork, event: Event) -> None:
    notify_citizen(uow, event)
    queue_webhook_deliveries(uow, event)


def handle_verification_started(uow: UnitOfWork, event: Event) -> None:
    # Integrators only. The outcome usually follows within seconds, so a "being checked"
    # SMS, WeChat or Alipay message would mostly arrive just before the one that matters;
    # the citizen sees `verifying` in their timeline and the progress look-up instead.
    queue_webhook_deliveries(uow, event)


def handle_verification_outcome(uow: UnitOfWork, event: Event) -> None:
    notify_citizen(uow, event)
    queue_webhook_deliveries(uow, event)


def handle_card_event(uow: UnitOfWork, event: Event) -> None:
    notify_citizen(uow, event)
    queue_webhook_deliveries(uow, event)


def notify_citizen(uow: UnitOfWork, event: Event) -> None:
    session = uow.session
    data = event.data
    account_id = str(data["account_id"])
    application = dao.dao_get_application(session, data.get("application_id"))
    outlet = dao.dao_get_outlet(
        session, data.get("outlet_id") or (application.outlet_id if application else None)
    )
    facts = Facts(
        acceptance_number=data.get("acceptance_number")
        or (application.acceptance_number if application else None),
        outlet_name=outlet.name if outlet else None,
        outlet_address=outlet.address if outlet else None,
        bank_name=outlet.bank_name if outlet else None,
        reasons=data.get("reasons") or (),
    )
    bindings = [(b.channel, b.locale) for b in dao.dao_get_bindings(session, account_id)]
    messages = compose(TEMPLATES, event.type, facts, recipients_for(bindings))
    dao.dao_queue_notifications(
        session,
        [
            {
                "event_id": event.id,
                "channel": message.channel,
                "account_id": account_id,
                "event_type": event.type,
                "locale": message.locale,
                "body": message.body,
                "template": message.template,
            }
            for message in messages
        ],
    )


def queue_webhook_deliveries(uow: UnitOfWork, event: Event) -> None:
    """One pending delivery per active subscription that asked for this (public) type."""
    subscribers = [
        subscription.subscription_id
        for subscription in dao.dao_active_subscriptions(uow.session)
        if subscribes_to(dao.subscription_patterns(subscription), event.type)
    ]
    if subscribers:
        dao.dao_queue_webhook_deliveries(
            uow.session,
            event_id=event.id,
            event_type=event.type,
            payload=public_payload(event).decode(),
            subscription_ids=subscribers,
        )


HANDLERS: dict[str, Handler] = {
    "account.registered": handle_account_registered,
    "outlet.upserted": handle_outlet_upserted,
    "application.submitted": handle_application_submitted,
    "application.cancelled": handle_application_cancelled,
    VERIFICATION_STARTED: handle_verification_started,
    **dict.fromkeys(VERIFICATION_OUTCOMES, handle_verification_outcome),
    **dict.fromkeys(CARD_EVENTS, handle_card_event),
}
