"""The notification service under test: its web app, its database, and ways to feed it events
and run its dispatcher with a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pika
import pytest
from sqlalchemy import select

from services.notification.app import create_app
from services.notification.deps import Dependencies
from services.notification.dispatcher import Dispatcher
from services.notification.handlers import HANDLERS
from services.notification.models import Notification, WebhookDelivery
from shared.config import Settings
from shared.db.uow import Database, UnitOfWork
from shared.messaging.connection import connection_parameters
from shared.messaging.consumer import bind_handlers
from shared.messaging.envelope import Event
from shared.messaging.publisher import OutgoingMessage


@dataclass
class NotificationService:
    settings: Settings
    app: object
    database: Database
    deps: Dependencies
    dispatchers: list[Dispatcher] = field(default_factory=list)

    @property
    def client(self):
        return self.app.test_client()

    @property
    def handlers(self) -> dict:
        """The handlers with this service's dependencies, as the worker runs them."""
        return bind_handlers(HANDLERS, self.deps)

    def handle(self, *events: Event) -> None:
        """Runs the handlers as the worker does, without the broker (and without the inbox, so
        the unique keys alone must keep a duplicate from adding anything)."""
        with self.database.session_factory() as session, session.begin():
            for event in events:
                HANDLERS[event.type](
                    self.deps, UnitOfWork(self.database, "notification", session=session), event
                )

    def dispatcher(self, *, config=None, **options) -> Dispatcher:
        """`config`: other options than the service's (a fresh set of dependencies with them,
        on the same database)."""
        deps = self.deps if config is None else replace(self.deps, options=config)
        dispatcher = Dispatcher(deps, **options)
        self.dispatchers.append(dispatcher)
        return dispatcher

    def notifications(self, account_id: str | None = None) -> list[Notification]:
        query = select(Notification).order_by(Notification.created_at, Notification.channel)
        if account_id:
            query = query.where(Notification.account_id == account_id)
        with self.database.session_factory() as session:
            return list(session.scalars(query))

    def deliveries(self, subscription_id: str) -> list[WebhookDelivery]:
        with self.database.session_factory() as session:
            return list(
                session.scalars(
                    select(WebhookDelivery).where(
                        WebhookDelivery.subscription_id == subscription_id
                    )
                )
            )

    def subscribe(self, headers: dict, url: str, event_types: list[str], **extra) -> dict:
        response = self.client.post(
            "/api/v1/subscriptions",
            json={"url": url, "event_types": event_types, **extra},
            headers=headers,
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()


def make_service(settings_factory, **env) -> NotificationService:
    defaults = {
        "WEBHOOK_ALLOW_PRIVATE": "1",  # local receivers
        "WEBHOOK_CONNECT_TIMEOUT": "2",
        "WEBHOOK_READ_TIMEOUT": "5",
        "DISPATCH_POLL_INTERVAL": "0.02",
    }
    settings = settings_factory("notification", **{**defaults, **env})
    app = create_app(settings)
    app.testing = True
    context = app.extensions["sscard"]
    return NotificationService(settings, app, context.database, context.deps)


@pytest.fixture
def service(settings_factory) -> Iterator[NotificationService]:
    under_test = make_service(settings_factory)
    yield under_test
    for dispatcher in under_test.dispatchers:
        dispatcher.close()
    under_test.database.dispose()


def publish(settings: Settings, events: list[Event], *, copies: int = 1) -> None:
    """Publishes like the other services' relays do: persistent, confirmed, each event
    `copies` times in a row (the same id: a broker redelivery or a relay retry)."""
    connection = pika.BlockingConnection(connection_parameters(settings, "test-publisher"))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for event in events:
            message = OutgoingMessage("sscard.events", event.type, event.to_json(), event.id)
            for _ in range(copies):
                channel.basic_publish(
                    "sscard.events", event.type, message.body, message.properties("test")
                )
    finally:
        connection.close()
