"""The SMS gateway simulator's HTTP interface (port 8012).

    POST /sms/v1/messages {phone, text}          → 202 {id, status}: the text is recorded
    GET  /sms/v1/messages?phone=P&limit=N        → {items: [{phone, text, sent_at}]}, newest first
    POST /carrier/v1/verify {phone, name, id_number}      → {match: true|false}
    POST /carrier/v1/subscribers {phone, name, id_number} → 201: records (or replaces) the
                                                            owner of a phone (demo and tests)
    PUT  /control/v1/faults {status, delay_ms}   → make /sms/ and /carrier/ misbehave
    GET  /healthz

When `SMS_GATEWAY_TOKEN` is set, sending a text needs `Authorization: Bearer <token>`, as a
real provider's gateway would. Phone owners are seeded at start from
deploy/seed/sms_gateway/subscribers.json. Every error is problem+json.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import time
import unicodedata
from pathlib import Path

from flask import Flask, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.web.problems import problem
from simulators.sms_gateway.store import (
    DEFAULT_MAX_MESSAGES,
    DEFAULT_MAX_SUBSCRIBERS,
    Faults,
    GatewayStore,
    Subscriber,
)
from simulators.web import json_object_body, make_simulator_app

SEED_FILE = (
    Path(__file__).resolve().parents[2] / "deploy" / "seed" / "sms_gateway" / "subscribers.json"
)
MAX_TEXT_CHARACTERS = 1_000  # a long concatenated text; a one-time code needs a few dozen
MAX_LIST = 1_000
_PHONE = re.compile(r"^\+?[0-9]{5,20}$")
_ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")


def normalise_phone(raw: str) -> str:
    """Full-width digits and surrounding blanks do not make another phone."""
    return unicodedata.normalize("NFKC", raw).strip()


def normalise_id_number(raw: str) -> str:
    """One person, one spelling: full-width digits and a lower-case x are the same number."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def normalise_name(raw: str) -> str:
    return raw.strip()


class Phone(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        phone = normalise_phone(super()._deserialize(value, attr, data, **kwargs))
        if not _PHONE.match(phone):
            raise ValidationError("Not a phone number (digits, optionally after a +).")
        return phone


class Name(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        name = normalise_name(super()._deserialize(value, attr, data, **kwargs))
        if not 1 <= len(name) <= 100:
            raise ValidationError("A name has 1 to 100 characters.")
        return name


class IdNumber(fields.String):
    def __init__(self, *, strict: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.strict = strict

    def _deserialize(self, value, attr, data, **kwargs):
        number = normalise_id_number(super()._deserialize(value, attr, data, **kwargs))
        if not 1 <= len(number) <= 64:
            raise ValidationError("An ID number has 1 to 64 characters.")
        if self.strict and not _ID_NUMBER.match(number):
            raise ValidationError("An ID number is 17 digits followed by a digit or X.")
        return number


class MessageSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # a sender may add what a real provider takes (a signature, …)

    phone = Phone(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT_CHARACTERS))


class ListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Phone(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIST))


class SubscriberSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Phone(required=True)
    name = Name(required=True)
    id_number = IdNumber(required=True, strict=True)


class VerifySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Phone(required=True)
    name = Name(required=True)
    # Any ID number may be asked about; one that is not well formed simply matches nobody.
    id_number = IdNumber(required=True, strict=False)


class FaultsSchema(Schema):
    """`status`: answer every /sms/ and /carrier/ request with this HTTP status (null:
    behave); `delay_ms`: wait this long before answering."""

    status = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=400, max=599)
    )
    delay_ms = fields.Integer(load_default=0, validate=validate.Range(min=0, max=60_000))


def seed(store: GatewayStore, seed_file: Path = SEED_FILE) -> int:
    subscribers = SubscriberSchema(many=True).load(json.loads(seed_file.read_text("utf-8")))
    for entry in subscribers:
        store.put_subscriber(Subscriber(**entry))
    return len(subscribers)


def _invalid(error: ValidationError):
    return problem(
        422,
        "Invalid fields",
        "One or more fields are invalid.",
        slug="validation-error",
        errors=error.messages if isinstance(error.messages, dict) else {"_schema": error.messages},
    )


def create_app(store: GatewayStore | None = None, *, token: str | None = None) -> Flask:
    """`token`: the bearer token a sender must show (default: env `SMS_GATEWAY_TOKEN`; unset or
    empty: none needed)."""
    if store is None:
        var_dir = Path(os.environ.get("SSCARD_VAR_DIR") or "var").resolve()
        store = GatewayStore(
            Path(os.environ.get("SMS_GATEWAY_DB_PATH") or var_dir / "db" / "sms_gateway.sqlite3"),
            max_messages=int(os.environ.get("SMS_GATEWAY_MAX_MESSAGES") or DEFAULT_MAX_MESSAGES),
            max_subscribers=int(
                os.environ.get("SMS_GATEWAY_MAX_SUBSCRIBERS") or DEFAULT_MAX_SUBSCRIBERS
            ),
        )
        seed(store)
    if token is None:
        token = os.environ.get("SMS_GATEWAY_TOKEN") or ""
    app = make_simulator_app("sms_gateway", max_body_bytes=64 * 1024)

    @app.before_request
    def misbehave():
        if request.path.startswith(("/sms/", "/carrier/")):
            faults = store.faults()
            if faults.delay_ms:
                time.sleep(faults.delay_ms / 1000)
            if faults.status:
                return problem(
                    faults.status, "Simulated fault", "The gateway is unavailable (simulated)."
                )
        return None

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service="sms_gateway")

    @app.post("/sms/v1/messages")
    def send_message():
        if token and not _bearer_matches(request.headers.get("Authorization", ""), token):
            return problem(
                401,
                "Unauthorized",
                "A valid bearer token is required to send texts.",
                slug="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="sms_gateway"'},
            )
        try:
            body = MessageSchema().load(json_object_body())
        except ValidationError as error:
            return _invalid(error)
        message = store.add_message(body["phone"], body["text"])
        return jsonify(id=message.id, status="accepted"), 202

    @app.get("/sms/v1/messages")
    def list_messages():
        try:
            query = ListQuerySchema().load(request.args.to_dict())
        except ValidationError as error:
            return _invalid(error)
        messages = store.messages(query["phone"], query["limit"])
        return jsonify(items=[message.to_item() for message in messages])

    @app.post("/carrier/v1/subscribers")
    def record_subscriber():
        try:
            body = SubscriberSchema().load(json_object_body())
        except ValidationError as error:
            return _invalid(error)
        subscriber = Subscriber(**body)
        store.put_subscriber(subscriber)
        return jsonify(subscriber.to_dict()), 201

    @app.post("/carrier/v1/verify")
    def verify():
        try:
            body = VerifySchema().load(json_object_body())
        except ValidationError as error:
            return _invalid(error)
        owner = store.subscriber(body["phone"])
        match = (
            owner is not None
            and hmac.compare_digest(owner.id_number.encode(), body["id_number"].encode())
            and owner.name == body["name"]
        )
        return jsonify(match=bool(match))

    @app.put("/control/v1/faults")
    def set_faults():
        try:
            body = FaultsSchema().load(json_object_body())
        except ValidationError as error:
            return _invalid(error)
        faults = Faults(status=body["status"], delay_ms=body["delay_ms"])
        store.set_faults(faults)
        return jsonify(status=faults.status, delay_ms=faults.delay_ms)

    return app


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, presented = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )
