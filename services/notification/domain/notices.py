"""What a citizen is told about an event: one message per channel they can be reached on,
each in the language chosen for that channel, rendered from the templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.notification.domain.channels import DEFAULT_LOCALE, SMS
from services.notification.domain.messages import readable_reasons
from services.notification.domain.templates import TemplateBook


@dataclass(frozen=True)
class Recipient:
    channel: str
    locale: str = DEFAULT_LOCALE


@dataclass(frozen=True)
class Facts:
    """What the templates may mention; anything unknown is None (and a template that needs it
    gives way to a more general one)."""

    acceptance_number: str | None = None
    outlet_name: str | None = None
    outlet_address: str | None = None
    bank_name: str | None = None
    reasons: Sequence[Mapping[str, str]] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def values(self, locale: str) -> dict[str, str | None]:
        return {
            "acceptance_number": self.acceptance_number,
            "outlet_name": self.outlet_name,
            "outlet_address": self.outlet_address,
            "bank_name": self.bank_name,
            "reasons": readable_reasons(self.reasons, locale) if self.reasons else None,
            **self.extra,
        }


@dataclass(frozen=True)
class Composed:
    channel: str
    locale: str
    body: str
    template: str


def recipients_for(bindings: Sequence[tuple[str, str]]) -> list[Recipient]:
    """Every bound channel; with none bound yet (the `account.registered` that brings the phone
    is late), sms all the same: the dispatcher waits for the address to arrive."""
    if not bindings:
        return [Recipient(SMS)]
    return [Recipient(channel, locale) for channel, locale in bindings]


def compose(
    book: TemplateBook, event_type: str, facts: Facts, recipients: Sequence[Recipient]
) -> list[Composed]:
    messages = []
    for recipient in recipients:
        rendered = book.render(
            event_type, recipient.channel, recipient.locale, facts.values(recipient.locale)
        )
        messages.append(
            Composed(recipient.channel, recipient.locale, rendered.body, rendered.template)
        )
    return messages
