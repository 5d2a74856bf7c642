"""The identity registry simulator's HTTP interface.

    GET  /registry/v1/people/{id_number}        → the person, 404 when unknown
    GET  /registry/v1/people/{id_number}/photo  → image/jpeg, the photo on file
    POST /registry/v1/people                    → add a person (test and demo set-up only);
                                                  `photo_base64` may be null or absent: a
                                                  person with no photo on file
    PUT  /control/v1/faults {status, delay_ms}  → make it misbehave, for fault-tolerance tests
    GET  /healthz

Seeded at start from deploy/seed/identity_registry/people.json. Every error, an unknown path
included, is problem+json.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from pathlib import Path

from flask import Flask, Response, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from shared.web.problems import problem
from simulators.identity_registry.store import PeopleStore, Person
from simulators.web import json_object_body, make_simulator_app

SEED_FILE = (
    Path(__file__).resolve().parents[2] / "deploy" / "seed" / "identity_registry" / "people.json"
)


class PersonSchema(Schema):
    # ASCII digits only: `\d` would also take full-width and other Unicode digits.
    id_number = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{17}[0-9X]$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    gender = fields.String(required=True, validate=validate.OneOf(["male", "female"]))
    birth_date = fields.Date(required=True)
    ethnicity = fields.String(required=True)
    address = fields.String(required=True)
    # null, "" or absent: no photo on file.
    photo_base64 = fields.String(load_default=None, allow_none=True)


class FaultsSchema(Schema):
    """`status`: answer every registry request with this HTTP status (null: behave);
    `delay_ms`: wait this long before answering."""

    status = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=400, max=599)
    )
    delay_ms = fields.Integer(load_default=0, validate=validate.Range(min=0, max=60_000))


def seed(store: PeopleStore, seed_file: Path = SEED_FILE) -> int:
    people = json.loads(seed_file.read_text(encoding="utf-8"))
    for entry in people:
        photo = (seed_file.parent / entry.pop("photo")).read_bytes()
        store.put(Person(**entry), photo)
    return len(people)


def create_app(store: PeopleStore | None = None) -> Flask:
    var_dir = Path(os.environ.get("SSCARD_VAR_DIR", "var")).resolve()
    if store is None:
        store = PeopleStore(
            Path(
                os.environ.get(
                    "IDENTITY_REGISTRY_DB_PATH", var_dir / "db" / "identity_registry.sqlite3"
                )
            )
        )
        seed(store)
    app = make_simulator_app("identity_registry")
    faults = {"status": None, "delay_ms": 0}
    faults_lock = threading.Lock()

    @app.before_request
    def misbehave():
        if request.path.startswith("/registry/"):
            with faults_lock:
                status, delay = faults["status"], faults["delay_ms"]
            if delay:
                time.sleep(delay / 1000)
            if status:
                return problem(status, "Simulated fault", "The registry is unavailable.")
        return None

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service="identity_registry")

    @app.get("/registry/v1/people/<id_number>")
    def get_person(id_number: str):
        person = store.get(id_number.upper())
        if person is None:
            return problem(404, "Not found", "No person with this ID number.")
        return jsonify(person.to_dict())

    @app.get("/registry/v1/people/<id_number>/photo")
    def get_photo(id_number: str):
        photo = store.photo(id_number.upper())
        if photo is None:
            return problem(404, "Not found", "No photo on file for this ID number.")
        return Response(photo, mimetype="image/jpeg")

    @app.post("/registry/v1/people")
    def add_person():
        body = json_object_body()
        try:
            data = PersonSchema().load(body)
            encoded = data.pop("photo_base64", None)
            photo = base64.b64decode(encoded, validate=True) if encoded else None
        except ValidationError as exc:
            return problem(422, "Invalid fields", errors=exc.messages)
        except (binascii.Error, ValueError):
            return problem(422, "Invalid fields", errors={"photo_base64": ["Not base64."]})
        data["birth_date"] = data["birth_date"].isoformat()
        created = store.put(Person(**data), photo)
        return jsonify(store.get(data["id_number"]).to_dict()), 201 if created else 200

    @app.put("/control/v1/faults")
    def set_faults():
        try:
            body = FaultsSchema().load(json_object_body())
        except ValidationError as exc:
            return problem(422, "Invalid fields", errors=exc.messages)
        with faults_lock:
            faults["status"] = body["status"]
            faults["delay_ms"] = body["delay_ms"]
            return jsonify(faults)

    return app
