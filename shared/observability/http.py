"""Request ids, correlation ids, access logs, Prometheus metrics, `/healthz` and `/readyz`."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable

import pika
from flask import Blueprint, Flask, Response, current_app, has_request_context, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from shared.messaging.connection import connection_parameters
from shared.observability.logs import log_info_line, reset_log_context, set_log_context
from shared.web.problems import problem

log = logging.getLogger("sscard.access")

REQUESTS = Counter(
    "sscard_http_requests_total",
    "HTTP requests by endpoint and status",
    ["service", "method", "endpoint", "status"],
)
LATENCY = Histogram(
    "sscard_http_request_duration_seconds",
    "HTTP request latency by endpoint",
    ["service", "method", "endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"


def _safe_id(value: str | None) -> str | None:
    if value and len(value) <= 100 and value.replace("-", "").isalnum():
        return value
    return None


# Where the middleware leaves what the request's code needs (Flask's request.environ).
REQUEST_ID_KEY = "sscard.request_id"
CORRELATION_ID_KEY = "sscard.correlation_id"
_ENDPOINT_KEY = "sscard.endpoint"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_UNLOGGED = frozenset(("/healthz", "/readyz", "/metrics"))


class RequestContext:
    """WSGI middleware around the Flask app: request and correlation ids, the log context, the
    `X-Request-ID` response header, the access log line and the request metrics.

    Plain WSGI rather than Flask's before/after hooks because it runs on every request,
    including the hottest reads: working on the environ dict directly costs a fraction of
    the same steps through Flask's context proxies (measured in tests/bench)."""

    def __init__(self, app: Flask) -> None:
        self.wsgi_app = app.wsgi_app
        self.service = app.extensions["sscard"].settings.service
        # The labelled series, found once per (method, route, status) rather than per request.
        self._series: dict[tuple[str, str, int], tuple] = {}

        # The route's rule, the metrics label, is only known inside Flask (which clears its
        # request from the environ before the response reaches this middleware).
        @app.before_request
        def _note_endpoint() -> None:
            rule = request.url_rule
            request.environ[_ENDPOINT_KEY] = rule.rule if rule is not None else None

    def __call__(self, environ: dict, start_response: Callable):
        started = time.perf_counter()
        request_id = _safe_id(environ.get("HTTP_X_REQUEST_ID")) or new_request_id()
        correlation_id = _safe_id(environ.get("HTTP_X_CORRELATION_ID")) or request_id
        environ[REQUEST_ID_KEY] = request_id
        environ[CORRELATION_ID_KEY] = correlation_id
        status: list[str] = []

        def start_with_request_id(line: str, headers: list, exc_info=None):
            headers.append((REQUEST_ID_HEADER, request_id))
            status.append(line)
            return start_response(line, headers, exc_info)

        token = set_log_context(request_id=request_id, correlation_id=correlation_id)
        try:
            return self.wsgi_app(environ, start_with_request_id)
        finally:
            self._record(environ, int(status[-1][:3]) if status else 500, started)
            reset_log_context(token)

    def _record(self, environ: dict, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        endpoint = environ.get(_ENDPOINT_KEY) or "unmatched"
        method = environ.get("REQUEST_METHOD", "")
        # A client's made-up method must not mint new series.
        label = method if method in _METHODS else "other"
        key = (label, endpoint, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                REQUESTS.labels(self.service, label, endpoint, status),
                LATENCY.labels(self.service, label, endpoint),
            )
        series[0].inc()
        series[1].observe(elapsed)
        if endpoint not in _UNLOGGED:
            # The path only: query strings may carry personal data (progress look-ups).
            log_info_line(log, f"{method} {request_path(environ)} {status} {elapsed * 1000:.1f}ms")


def new_request_id() -> str:
    """The text of a random version 4 UUID, as `str(uuid.uuid4())` gives, at a third of its
    cost: its bits come from the process's Mersenne Twister, which Python reseeds in every
    forked worker, rather than from a system call per request. A request id must be unique,
    not unguessable: it grants nothing (the trace endpoint wants an admin or service token)."""
    bits = random.getrandbits(128) & ~(0xF000 << 64) | (0x4000 << 64)  # version 4
    bits = bits & ~(0xC000 << 48) | (0x8000 << 48)  # the RFC 9562 variant
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def request_path(environ: dict) -> str:
    return (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"


def register_request_context(app: Flask) -> None:
    app.wsgi_app = RequestContext(app)  # type: ignore[method-assign]


def current_correlation_id() -> str | None:
    """The correlation id of the request being served (its X-Correlation-ID, else its id)."""
    return request.environ.get(CORRELATION_ID_KEY) if has_request_context() else None


class OutboxCollector:
    """Outbox backlog, read from the database at scrape time (exact in every process)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        context = self.app.extensions["sscard"]
        pending = GaugeMetricFamily(
            "sscard_outbox_pending",
            "Outbox events not yet confirmed by the broker",
            labels=["service"],
        )
        try:
            with context.database.session_factory() as session:
                count = context.database.outbox.pending_count(session)
            pending.add_metric([context.settings.service], count)
        except Exception:  # a scrape must not fail because the database does
            log.debug("outbox backlog unavailable", exc_info=True)
        yield pending


class ReadinessProbe:
    """Database and broker reachability, cached briefly so probes cannot overload either."""

    def __init__(self, checks: dict[str, Callable[[], None]], ttl: float = 2.0) -> None:
        self.checks = checks
        self.ttl = ttl
        self._result: tuple[float, dict[str, str]] | None = None
        self._lock = threading.Lock()

    def run(self) -> dict[str, str]:
        with self._lock:
            if self._result and time.monotonic() - self._result[0] < self.ttl:
                return self._result[1]
            outcome: dict[str, str] = {}
            for name, check in self.checks.items():
                try:
                    check()
                    outcome[name] = "ok"
                except Exception as exc:  # any failure means "not ready"
                    outcome[name] = f"unavailable: {type(exc).__name__}"
            self._result = (time.monotonic(), outcome)
            return outcome


def broker_check(settings) -> Callable[[], None]:
    def check() -> None:
        params = connection_parameters(settings, "readiness")
        params.socket_timeout = 2
        connection = pika.BlockingConnection(params)
        connection.close()

    return check


def health_blueprint() -> Blueprint:
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=current_app.extensions["sscard"].settings.service)

    @blueprint.get("/readyz")
    def readyz():
        outcome = current_app.extensions["sscard"].readiness.run()
        failed = sorted(name for name, state in outcome.items() if state != "ok")
        if failed:
            return problem(
                503,
                "Not ready",
                f"Unavailable: {', '.join(failed)}.",
                slug="not-ready",
                checks=outcome,
            )
        return jsonify(status="ready", checks=outcome)

    @blueprint.get("/metrics")
    def metrics():
        # current_app is a LocalProxy that Flask types as the Flask it stands for.
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = CollectorRegistry()
            registry.register(_DefaultRegistryView())
        registry.register(OutboxCollector(app))
        for collector in app.extensions["sscard"].collectors:
            registry.register(collector)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    for view in (healthz, readyz, metrics):
        view._sscard_public = True  # type: ignore[attr-defined]
    return blueprint


class _DefaultRegistryView:
    """The process-wide registry, re-exported into a per-scrape registry."""

    def collect(self):
        return REGISTRY.collect()
