"""Message templates: one per event type, channel and locale (`<event_type>/<channel>.<locale>.txt`
in `string.Template` syntax, `${acceptance_number}`), read by a source the book is given
(adapters/template_files.py reads them from `services/notification/templates/`).

A notification is never dropped for want of a template: when a file is missing, unreadable, or
needs a value this event does not have (an outlet whose name has not arrived yet), the next
candidate is tried — the default locale, then the generic template of the channel, then the
generic template of any channel, and finally a built-in line that needs nothing but the status.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from string import Template

from services.notification.domain.channels import DEFAULT_LOCALE
from services.notification.domain.messages import status_words

log = logging.getLogger(__name__)

# A template by folder and file name; None when there is none, or it cannot be read.
TemplateSource = Callable[[str, str], Template | None]
GENERIC = "_generic"
ANY_CHANNEL = "default"
BUILT_IN = Template("${status_text}")
_SAFE_NAME = re.compile(r"^[a-z0-9_.-]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Rendered:
    body: str
    template: str  # which file (or "built-in") produced the body


def _candidates(event_type: str, channel: str, locale: str, default_locale: str):
    locales = [locale] if locale == default_locale else [locale, default_locale]
    for folder, name in ((event_type, channel), (GENERIC, channel), (GENERIC, ANY_CHANNEL)):
        for candidate_locale in locales:
            yield folder, f"{name}.{candidate_locale}.txt"


class TemplateBook:
    def __init__(self, source: TemplateSource, default_locale: str = DEFAULT_LOCALE) -> None:
        self.source = source
        self.default_locale = default_locale

    def render(
        self, event_type: str, channel: str, locale: str, values: Mapping[str, str | None]
    ) -> Rendered:
        context = {key: str(value) for key, value in values.items() if value not in (None, "")}
        context.setdefault("status_text", status_words(event_type, locale))
        for folder, filename in _candidates(event_type, channel, locale, self.default_locale):
            if not (_SAFE_NAME.match(folder) and _SAFE_NAME.match(filename)):
                continue
            template = self.source(folder, filename)
            if template is None:
                continue
            body = _fill(template, context)
            if body is not None:
                return Rendered(body.strip(), f"{folder}/{filename}")
            log.debug(
                "template %s/%s lacks values for %s; trying the next", folder, filename, event_type
            )
        log.warning("no usable template for %s on %s; using the built-in line", event_type, channel)
        return Rendered(BUILT_IN.substitute(context), "built-in")


def _fill(template: Template, context: Mapping[str, str]) -> str | None:
    """The filled template, or None when it names a value the context does not have."""
    if not template.is_valid():
        return None
    if any(name not in context for name in template.get_identifiers()):
        return None
    return template.substitute(context)
