"""The CloudEvents 1.0 envelope (structured JSON mode) every sscard message travels in."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared.errors import PermanentMessageError
from shared.messaging.events import UnknownEventType, contract_for, validation_errors
from shared.time import format_time

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
# CloudEvents: extension attribute names are lowercase letters and digits, at most 20 long.
EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")


class CloudEventSchema(Schema):
    """The envelope's required context attributes; extension attributes pass through."""

    class Meta:
        unknown = INCLUDE

    specversion = fields.String(required=True, validate=validate.Equal(SPEC_VERSION))
    id = fields.UUID(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.Length(min=1))
    time = fields.AwareDateTime(required=True, format="iso")
    subject = fields.String(allow_none=True)
    datacontenttype = fields.String(validate=validate.Equal(DATA_CONTENT_TYPE))
    dataschema = fields.String(required=True)
    data = fields.Dict(required=True)
    correlationid = fields.String(allow_none=True)
    causationid = fields.String(allow_none=True)

    @validates_schema(pass_original=True)
    def _extensions_are_well_named(self, _data, original, **_kwargs):
        known = set(self.fields)
        bad = [name for name in original if name not in known and not EXTENSION_NAME.match(name)]
        if bad:
            raise ValidationError({name: ["Not a valid extension attribute name."] for name in bad})


_ENVELOPE_SCHEMA = CloudEventSchema()
_CONTEXT_ATTRIBUTES = frozenset(_ENVELOPE_SCHEMA.fields)
_REQUIRED_STRINGS = ("source", "type", "dataschema")
_OPTIONAL_STRINGS = ("subject", "correlationid", "causationid")


def _plainly_valid(raw: dict) -> bool:
    """A quick check that accepts only envelopes CloudEventSchema accepts too (a unit test
    holds the two together). Consuming is the hot path, and most messages are well formed;
    anything this doubts goes to the schema, which decides and explains."""
    try:
        if raw.get("specversion") != SPEC_VERSION or not isinstance(raw.get("data"), dict):
            return False
        if not all(isinstance(raw.get(name), str) and raw[name] for name in _REQUIRED_STRINGS):
            return False
        if any(not isinstance(raw.get(name, ""), str | None) for name in _OPTIONAL_STRINGS):
            return False
        if raw.get("datacontenttype", DATA_CONTENT_TYPE) != DATA_CONTENT_TYPE:
            return False
        uuid.UUID(raw["id"])
        moment = datetime.fromisoformat(raw["time"])
        if moment.tzinfo is None:
            return False
    except (TypeError, ValueError, KeyError, AttributeError):
        return False
    return all(name in _CONTEXT_ATTRIBUTES or EXTENSION_NAME.match(name) for name in raw)


@dataclass(frozen=True)
class Event:
    """One CloudEvent as services see it: context attributes plus validated `data`."""

    id: str
    type: str
    source: str
    time: str
    data: dict[str, Any]
    subject: str | None = None
    dataschema: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    # Not part of the CloudEvent: the AMQP routing key it was published with, set by the
    # consumer for handlers whose rules depend on it (a bank's code in `bank.<code>.<status>`).
    routing_key: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "datacontenttype": DATA_CONTENT_TYPE,
            "dataschema": self.dataschema or contract_for(self.type).dataschema,
        }
        if self.subject is not None:
            envelope["subject"] = self.subject
        if self.correlationid is not None:
            envelope["correlationid"] = self.correlationid
        if self.causationid is not None:
            envelope["causationid"] = self.causationid
        envelope.update(self.extensions)
        envelope["data"] = self.data
        return envelope

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()


def new_event(
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    subject: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    extensions: dict[str, Any] | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Event:
    """Builds an event and checks its data against the registry, strictly: a publisher that
    does not match the documented schema is a bug, caught here rather than by a consumer."""
    contract = contract_for(event_type)
    errors = validation_errors(event_type, data, strict=True)
    if errors:
        raise ValueError(f"{event_type} data does not match its schema: {errors}")
    for name in extensions or {}:
        if not EXTENSION_NAME.match(name):
            raise ValueError(f"invalid CloudEvents extension attribute name {name!r}")
    return Event(
        id=event_id or str(uuid.uuid4()),
        type=event_type,
        source=source if source.startswith("/") else f"/sscard/{source}",
        time=format_time(time or datetime.now(UTC)),
        data=data,
        subject=subject,
        dataschema=contract.dataschema,
        correlationid=correlation_id,
        causationid=causation_id,
        extensions=dict(extensions or {}),
    )


def parse_event(body: bytes, *, routing_key: str | None = None) -> Event:
    """Decodes and validates a message body; anything wrong is a permanent failure."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PermanentMessageError(f"body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise PermanentMessageError("body is not a JSON object")
    if not _plainly_valid(raw):
        errors = _ENVELOPE_SCHEMA.validate(raw)
        if errors:
            raise PermanentMessageError(f"not a valid CloudEvent: {errors}")
    try:
        contract = contract_for(raw["type"])
    except UnknownEventType:
        raise PermanentMessageError(f"unknown event type {raw['type']!r}") from None
    if raw["dataschema"] != contract.dataschema:
        raise PermanentMessageError(
            f"unsupported dataschema {raw['dataschema']!r}; expected {contract.dataschema!r}"
        )
    data_errors = validation_errors(raw["type"], raw["data"], strict=False)
    if data_errors:
        raise PermanentMessageError(f"{raw['type']} data is invalid: {data_errors}")
    return Event(
        id=raw["id"],
        type=raw["type"],
        source=raw["source"],
        time=raw["time"],
        data=raw["data"],
        subject=raw.get("subject"),
        dataschema=raw["dataschema"],
        correlationid=raw.get("correlationid"),
        causationid=raw.get("causationid"),
        extensions={k: v for k, v in raw.items() if k not in _CONTEXT_ATTRIBUTES},
        routing_key=routing_key,
    )
