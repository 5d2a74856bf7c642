"""The notification service's dependencies, built once per process: its settings and options,
its database, the secrets' cipher, the templates, and the adapters to the world outside it
(channel providers, the destination guard, the webhook sender). The one way routes, handlers,
use cases and the dispatcher reach any of them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import cast

from services.notification import config, models
from services.notification.adapters.outbound import DestinationGuard
from services.notification.adapters.providers import ChannelProvider, build_providers
from services.notification.adapters.template_files import TemplateFiles
from services.notification.adapters.webhook_sender import WebhookSender
from services.notification.config import NotificationConfig
from services.notification.domain.templates import TemplateBook
from shared.config import Settings
from shared.db.uow import Database
from shared.personal_data.protection import FieldCipher
from shared.web.app import current_deps


@dataclass
class Dependencies:
    settings: Settings
    database: Database
    options: NotificationConfig

    @cached_property
    def cipher(self) -> FieldCipher:
        """Keeps webhook secrets encrypted at rest."""
        return FieldCipher(self.settings.pii_key())

    @cached_property
    def templates(self) -> TemplateBook:
        return TemplateBook(TemplateFiles())

    @cached_property
    def guard(self) -> DestinationGuard:
        return DestinationGuard(allow_private=self.options.allow_private_destinations)

    @cached_property
    def providers(self) -> dict[str, ChannelProvider]:
        """Built when first sent through: a misconfigured provider stops the dispatcher, not
        the web app."""
        return build_providers(self.settings, self.options)

    @cached_property
    def webhook_sender(self) -> WebhookSender:
        return WebhookSender(
            self.guard,
            connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout,
            pool_size=self.options.workers,
        )


def build(settings: Settings, *, pool_size: int = 5) -> Dependencies:
    return Dependencies(
        settings=settings,
        database=Database(settings.database_url, models.metadata, pool_size=pool_size),
        options=config.notification_config(settings),
    )


def current() -> Dependencies:
    """The dependencies of the app serving this request."""
    return cast(Dependencies, current_deps())
