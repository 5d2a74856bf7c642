"""The HTTP shell every service gets from shared.web: errors, limits, auth, idempotency,
health, metrics and OpenAPI — exercised through a small app built the way services build
theirs."""

from __future__ import annotations

import io
import json
import uuid

import flask
import pytest
from flask_smorest import Blueprint
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from shared.auth import ADMIN, CITIZEN
from shared.errors import Conflict
from shared.observability.logs import ContextFilter
from shared.web.app import ServiceFlask, create_service_app
from shared.web.auth import current_principal, public, requires_roles
from shared.web.limits import accepts
from shared.web.openapi import documented
from shared.web.transaction import transactional

PROBLEM = "application/problem+json"


class ThingSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2))
    count = fields.Integer()


def build_blueprint() -> Blueprint:
    blp = Blueprint("things", __name__)

    @blp.route("/things", methods=["POST"])
    @requires_roles(CITIZEN)
    @transactional(idempotent=True)
    @blp.arguments(ThingSchema)
    @blp.response(201, ThingSchema)
    def create_thing(payload, uow):
        uow.add_event(
            "application.cancelled",
            {"application_id": str(uuid.uuid4()), "account_id": current_principal().subject},
        )
        if payload.get("count") == -1:
            raise Conflict("Refused after the event was added.")
        return payload

    @blp.route("/admin-only", methods=["GET"])
    @requires_roles(ADMIN)
    def admin_only():
        return {"ok": True}

    @blp.route("/boom", methods=["GET"])
    @public
    def boom():
        raise RuntimeError("secret internals 11010519491231002X")

    @blp.route("/conflict", methods=["POST"])
    @public
    def conflict():
        raise Conflict("Already decided.", extra={"missing": ["photo"]})

    @blp.route("/upload", methods=["PUT"])
    @public
    @accepts("image/jpeg", max_bytes=1000)
    def upload():
        return "", 204

    return blp


@pytest.fixture
def app_and_settings(settings_factory):
    settings = settings_factory("application")
    app = create_service_app(
        settings,
        metadata_for("application"),
        title="test",
        description="a test app",
        blueprints=[build_blueprint()],
    )
    app.testing = True
    yield app, settings
    app.extensions["sscard"].database.dispose()


def metadata_for(service: str):
    from shared.db.migrations import service_metadata

    return service_metadata(service)


@pytest.fixture
def client(app_and_settings):
    return app_and_settings[0].test_client()


def outbox_count(app) -> int:
    database = app.extensions["sscard"].database
    with database.session_factory() as session:
        return session.execute(select(func.count()).select_from(database.outbox.table)).scalar_one()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    return body


def test_unknown_path_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/api/v1/things")
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_a_400_problem(client, token_authority):
    response = client.post(
        "/api/v1/things",
        data="{not json",
        content_type="application/json",
        headers=token_authority.citizen(str(uuid.uuid4())),
    )
    assert_problem(response, 400)


def test_invalid_fields_are_a_422_with_errors_per_field(client, token_authority, app_and_settings):
    response = client.post(
        "/api/v1/things",
        json={"name": "x", "count": "many", "extra": 1},
        headers=token_authority.citizen(str(uuid.uuid4())),
    )
    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"name", "count", "extra"}
    assert outbox_count(app_and_settings[0]) == 0  # bad input changes nothing


def test_wrong_media_type_is_a_415(client, token_authority):
    response = client.post(
        "/api/v1/things",
        data="name=ok",
        content_type="application/x-www-form-urlencoded",
        headers=token_authority.citizen(str(uuid.uuid4())),
    )
    assert_problem(response, 415)
    assert_problem(client.put("/api/v1/upload", data=b"x" * 10, content_type="image/gif"), 415)


def test_bodies_over_the_route_limit_are_a_413(client, token_authority):
    big = json.dumps({"name": "x" * 70_000})
    response = client.post(
        "/api/v1/things",
        data=big,
        content_type="application/json",
        headers=token_authority.citizen(str(uuid.uuid4())),
    )
    assert_problem(response, 413)
    assert_problem(client.put("/api/v1/upload", data=b"x" * 1001, content_type="image/jpeg"), 413)
    assert (
        client.put("/api/v1/upload", data=b"x" * 1000, content_type="image/jpeg").status_code == 204
    )


def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(client, caplog):
    response = client.get("/api/v1/boom")
    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    assert "detail" in body


def test_domain_errors_keep_their_status_and_extra_members(client):
    body = assert_problem(client.post("/api/v1/conflict"), 409)
    assert body["missing"] == ["photo"]


def test_missing_or_bad_tokens_are_401_and_wrong_roles_403(client, token_authority):
    response = client.get("/api/v1/admin-only")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(client.get("/api/v1/admin-only", headers={"Authorization": "Bearer x.y.z"}), 401)
    assert_problem(
        client.get("/api/v1/admin-only", headers=token_authority.citizen(str(uuid.uuid4()))), 403
    )
    assert client.get("/api/v1/admin-only", headers=token_authority.admin()).status_code == 200


def test_a_retried_request_with_the_same_idempotency_key_changes_nothing(
    client, token_authority, app_and_settings
):
    account = str(uuid.uuid4())
    headers = {**token_authority.citizen(account), "Idempotency-Key": "k-1"}
    first = client.post("/api/v1/things", json={"name": "card"}, headers=headers)
    again = client.post("/api/v1/things", json={"name": "card"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert outbox_count(app_and_settings[0]) == 1

    other_body = client.post("/api/v1/things", json={"name": "other"}, headers=headers)
    assert_problem(other_body, 422)
    someone_else = {**token_authority.citizen(str(uuid.uuid4())), "Idempotency-Key": "k-1"}
    assert (
        client.post("/api/v1/things", json={"name": "card"}, headers=someone_else).status_code
        == 201
    )
    assert outbox_count(app_and_settings[0]) == 2


def test_a_view_that_refuses_commits_nothing_and_stores_no_reply(
    client, token_authority, app_and_settings
):
    headers = {**token_authority.citizen(str(uuid.uuid4())), "Idempotency-Key": "k-2"}
    refused = client.post("/api/v1/things", json={"name": "card", "count": -1}, headers=headers)
    assert_problem(refused, 409)
    assert outbox_count(app_and_settings[0]) == 0
    # The refusal was not remembered: the same key may carry the corrected request.
    again = client.post("/api/v1/things", json={"name": "card", "count": -1}, headers=headers)
    assert_problem(again, 409)
    assert "Idempotent-Replayed" not in again.headers


def test_health_readiness_and_metrics(client, app_and_settings):
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_data(as_text=True)
    assert ready.get_json()["checks"] == {"database": "ok", "broker": "ok"}
    client.get("/api/v1/nothing-here")
    client.open("/api/v1/nothing-here", method="BREW")  # RFC 2324: not a method to label by
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'sscard_http_requests_total{endpoint="unmatched",method="GET"' in metrics
    assert 'method="other"' in metrics and "BREW" not in metrics
    assert 'sscard_outbox_pending{service="application"} 0.0' in metrics


def test_every_request_has_an_id_a_path_only_access_line_and_a_metric(client, caplog):
    caplog.set_level("INFO", logger="sscard.access")
    caplog.handler.addFilter(ContextFilter("application"))  # as configure_logging's handler
    given = client.get(
        "/api/v1/admin-only?id_number=11010519491231002X",
        headers={
            "X-Request-ID": "req-42",
        },
    )
    fresh = client.get("/api/v1/boom")
    assert given.headers["X-Request-ID"] == "req-42"
    assert uuid.UUID(fresh.headers["X-Request-ID"])
    lines = [(r.getMessage(), r.context) for r in caplog.records if r.name == "sscard.access"]
    assert lines[0][0].startswith("GET /api/v1/admin-only 401 ")  # no query string
    assert lines[0][1] == {"request_id": "req-42", "correlation_id": "req-42"}
    assert lines[1][0].startswith("GET /api/v1/boom 500 ")
    assert lines[1][1]["request_id"] == fresh.headers["X-Request-ID"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="/api/v1/admin-only",method="GET",service="application",status="401"' in (
        metrics
    )


def test_readiness_names_what_is_down(settings_factory):
    settings = settings_factory("application", AMQP_URL="amqp://guest:guest@127.0.0.1:1/%2F")
    app = create_service_app(settings, metadata_for("application"), title="t", description="d")
    response = app.test_client().get("/readyz")
    body = assert_problem(response, 503)
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unavailable")
    assert "broker" in body["detail"]


def test_openapi_is_3_1_and_generated_from_the_validating_schemas(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    operation = spec["paths"]["/api/v1/things"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    assert spec["components"]["schemas"]["Thing"]["required"] == ["name"]


def test_trace_lists_what_the_service_published_for_one_correlation_id_masked(
    client, token_authority
):
    account = str(uuid.uuid4())
    headers = {**token_authority.citizen(account), "X-Correlation-ID": "corr-trace-1"}
    assert client.post("/api/v1/things", json={"name": "card"}, headers=headers).status_code == 201

    assert_problem(client.get("/internal/v1/trace/corr-trace-1"), 401)
    assert_problem(
        client.get("/internal/v1/trace/corr-trace-1", headers=token_authority.citizen(account)), 403
    )
    for stranger in ("ctl", "application"):  # only sscardctl's own identity, and admins
        assert_problem(
            client.get(
                "/internal/v1/trace/corr-trace-1", headers=token_authority.service(stranger)
            ),
            403,
        )
    trace = client.get(
        "/internal/v1/trace/corr-trace-1", headers=token_authority.service("sscardctl")
    )
    assert trace.status_code == 200
    [entry] = trace.get_json()["entries"]
    assert entry["kind"] == "published"
    assert entry["type"] == "application.cancelled"
    assert entry["data"]["account_id"] == account
    other = client.get("/internal/v1/trace/someone-else", headers=token_authority.admin())
    assert other.get_json()["entries"] == []


def test_trace_redacts_id_numbers_and_inline_files():
    from shared.web.trace import redact

    redacted = redact(
        {"applicant": {"id_number": "11010519491231002X"}, "photo": {"data_base64": "QUJD"}}
    )
    assert redacted == {
        "applicant": {"id_number": "110105********002X"},
        "photo": {"data_base64": "<4 characters omitted>"},
    }


def test_each_view_and_hook_is_asked_once_whether_it_is_a_coroutine(client, monkeypatch):
    asked: list = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda f: asked.append(f) or real(f))
    for _ in range(3):
        assert client.get("/api/v1/boom").status_code == 500
    once = len(asked)
    assert once > 0
    for _ in range(3):
        client.get("/api/v1/boom")
    assert len(asked) == once


def test_a_coroutine_view_is_handled_as_plain_flask_handles_it():
    async def view():
        return "ok"

    def outcome(app):
        try:
            return type(app.ensure_sync(view)).__name__
        except RuntimeError as exc:  # Flask without its async extra
            return str(exc)

    assert outcome(ServiceFlask("a")) == outcome(flask.Flask("b"))
    assert ServiceFlask("c").ensure_sync(outcome) is outcome


def test_documented_routes_are_documented_as_stacked_decorators_and_run_unwrapped(
    settings_factory,
):
    stacked_blp, flat_blp = (Blueprint(name, __name__) for name in ("stacked", "flat"))
    schema = ThingSchema

    @stacked_blp.route("/stacked-thing", methods=["GET"])
    @requires_roles(CITIZEN)
    @stacked_blp.doc(summary="A thing")
    @stacked_blp.response(200, schema)
    @stacked_blp.alt_response(404, description="No thing")
    def stacked():
        return flask.Response("{}", mimetype="application/json")

    def flat():
        return flask.Response("{}", mimetype="application/json")

    flat_blp.route("/flat-thing", methods=["GET"])(
        requires_roles(CITIZEN)(
            documented(
                flat_blp.doc(summary="A thing"),
                flat_blp.response(200, schema),
                flat_blp.alt_response(404, description="No thing"),
            )(flat)
        )
    )
    app = create_service_app(
        settings_factory("application"),
        metadata_for("application"),
        title="t",
        description="d",
        blueprints=[stacked_blp, flat_blp],
    )
    paths = app.test_client().get("/openapi.json").get_json()["paths"]
    stacked_doc, flat_doc = (paths[f"/api/v1/{name}-thing"]["get"] for name in ("stacked", "flat"))
    assert stacked_doc.pop("tags") == ["stacked"] and flat_doc.pop("tags") == ["flat"]
    assert flat_doc == stacked_doc
    assert flat_doc["security"] == [{"bearerAuth": []}] and "404" in flat_doc["responses"]
    # At run time: the role check, then the view itself.
    assert app.view_functions["flat.flat"].__wrapped__ is flat


class _BrokenChunkedBody(io.BytesIO):
    """The request body as gunicorn hands it to a view when the client's chunked encoding is
    broken (or the body ends early): reading it raises gunicorn's own parse error."""

    def __init__(self, error: Exception) -> None:
        super().__init__(b'{"name": "a thing"}')
        self.error = error

    def read(self, *args):
        raise self.error

    readline = readinto = read1 = read


@pytest.mark.parametrize(
    "error",
    [InvalidChunkSize(b"zz"), ChunkMissingTerminator(b"x"), NoMoreData(b"")],
    ids=lambda error: type(error).__name__,
)
def test_a_body_that_breaks_while_the_view_reads_it_is_a_400_problem(
    client, token_authority, caplog, error
):
    response = client.post(
        "/api/v1/things",
        input_stream=_BrokenChunkedBody(error),
        content_type="application/json",
        headers={
            **token_authority.citizen(str(uuid.uuid4())),
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it
    )

    assert_problem(response, 400)
    if not isinstance(error, NoMoreData):  # an early end: werkzeug's own 400
        assert response.get_json()["title"] == "Malformed request body"
    assert "unhandled error" not in caplog.text
