"""`GET /internal/v1/trace/<correlation_id>`: what this service published and consumed for one
application (the correlation id), for `sscardctl trace` — which asks every service this way, with
its own service token (SSCARDCTL_SERVICE_SECRET), and never reads their databases; an admin's
token may read it too. Personal data is masked and inline files are left out."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select

from shared.observability.logs import mask_id_numbers
from shared.time import format_time
from shared.web.auth import requires_service

TRACE_PATH = "/internal/v1/trace/<correlation_id>"
# Who may read a trace: an admin's token, and sscardctl with its own service secret.
TRACE_CLIENT = "sscardctl"


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (f"<{len(item)} characters omitted>" if key == "data_base64" else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return mask_id_numbers(value)
    return value


def trace_blueprint() -> Blueprint:
    blueprint = Blueprint("trace", __name__)

    @blueprint.get(TRACE_PATH)
    @requires_service(TRACE_CLIENT, admin=True)
    def trace(correlation_id: str):
        context = current_app.extensions["sscard"]
        outbox = context.database.outbox.table
        inbox = context.database.inbox.table
        with context.database.session_factory() as session:
            published = session.execute(
                select(outbox.c.body, outbox.c.published_at)
                .where(outbox.c.correlation_id == correlation_id)
                .order_by(outbox.c.seq)
            ).all()
            consumed = session.execute(
                select(inbox.c.event_id, inbox.c.event_type, inbox.c.processed_at)
                .where(inbox.c.correlation_id == correlation_id)
                .order_by(inbox.c.processed_at)
            ).all()
        entries = []
        for row in published:
            event = json.loads(row.body)
            entries.append(
                {
                    "at": event["time"],
                    "kind": "published",
                    "event_id": event["id"],
                    "type": event["type"],
                    "confirmed_at": row.published_at.isoformat() if row.published_at else None,
                    "data": redact(event["data"]),
                }
            )
        for row in consumed:
            entries.append(
                {
                    "at": format_time(row.processed_at),
                    "kind": "consumed",
                    "event_id": row.event_id,
                    "type": row.event_type,
                }
            )
        entries.sort(key=lambda entry: entry["at"])
        return jsonify(
            service=context.settings.service, correlation_id=correlation_id, entries=entries
        )

    return blueprint
