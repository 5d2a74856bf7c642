"""What a citizen is told: a `queued` notification per channel they can be reached on, for each
event about their application; and the list of what they have been told."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from services.notification.dao.contacts import dao_get_bindings
from services.notification.dao.notifications import (
    dao_list_notifications,
    dao_queue_notifications,
)
from services.notification.dao.read_models import dao_get_application, dao_get_outlet
from services.notification.deps import Dependencies
from services.notification.domain.notices import Facts, compose, recipients_for
from services.notification.models import Notification
from shared.db.uow import UnitOfWork


def notify_citizen(
    uow: UnitOfWork,
    deps: Dependencies,
    *,
    event_id: str,
    event_type: str,
    account_id: str,
    application_id: str | None = None,
    outlet_id: str | None = None,
    acceptance_number: str | None = None,
    reasons: Sequence[Mapping[str, str]] = (),
) -> None:
    """Nothing is sent here: the dispatcher sends once this commits. What the event does not
    say (the acceptance number, the outlet) comes from what was heard of the application."""
    session = uow.session
    application = dao_get_application(session, application_id)
    outlet = dao_get_outlet(session, outlet_id or (application.outlet_id if application else None))
    facts = Facts(
        acceptance_number=acceptance_number
        or (application.acceptance_number if application else None),
        outlet_name=outlet.name if outlet else None,
        outlet_address=outlet.address if outlet else None,
        bank_name=outlet.bank_name if outlet else None,
        reasons=reasons or (),
    )
    bindings = [(b.channel, b.locale) for b in dao_get_bindings(session, account_id)]
    messages = compose(deps.templates, event_type, facts, recipients_for(bindings))
    dao_queue_notifications(
        session,
        [
            {
                "event_id": event_id,
                "channel": message.channel,
                "account_id": account_id,
                "event_type": event_type,
                "locale": message.locale,
                "body": message.body,
                "template": message.template,
            }
            for message in messages
        ],
    )


def list_notifications(session: Session, *, account_id: str, limit: int) -> list[Notification]:
    return dao_list_notifications(session, account_id, limit)
