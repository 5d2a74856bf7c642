"""What the application service does with each event it consumes: one function per type."""

from __future__ import annotations

from shared.messaging.consumer import Handler

HANDLERS: dict[str, Handler] = {}
