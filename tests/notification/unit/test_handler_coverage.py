"""The worker handles exactly the event types the topology binds to the notification queue."""

from services.notification.handlers import HANDLERS
from shared.messaging.topology import SUBSCRIPTIONS


def test_handlers_cover_exactly_the_bound_event_types():
    bound = {binding.routing_key for binding in SUBSCRIPTIONS["notification"]}
    assert set(HANDLERS) == bound
