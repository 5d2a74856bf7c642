"""The notification service's HTTP resources, one blueprint each."""

from services.notification.api.channels import blp as channels
from services.notification.api.notifications import blp as notifications
from services.notification.api.scopes import blp as integrators
from services.notification.api.subscriptions import blp as subscriptions

BLUEPRINTS: list = [channels, notifications, subscriptions, integrators]
