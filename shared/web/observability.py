"""Request ids, correlation ids, access logs, Prometheus metrics, `/healthz` and `/readyz`."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable

import pika
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
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

from shared.logs import bind_log_context, clear_log_context
from shared.messaging.connection import connection_parameters
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


def register_request_context(app: Flask) -> None:
    service = app.extensions["sscard"].settings.service

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.request_id = _safe_id(request.headers.get(REQUEST_ID_HEADER)) or str(uuid.uuid4())
        g.correlation_id = _safe_id(request.headers.get(CORRELATION_ID_HEADER)) or g.request_id
        clear_log_context()
        bind_log_context(request_id=g.request_id, correlation_id=g.correlation_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        REQUESTS.labels(service, request.method, endpoint, response.status_code).inc()
        LATENCY.labels(service, request.method, endpoint).observe(elapsed)
        if endpoint not in ("/healthz", "/readyz", "/metrics"):
            # The path only: query strings may carry personal data (progress look-ups).
            log.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                elapsed * 1000,
            )
        return response


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
        app = current_app._get_current_object()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = CollectorRegistry()
            registry.register(_DefaultRegistryView())
        registry.register(OutboxCollector(app))
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    for view in (healthz, readyz, metrics):
        view._sscard_public = True  # type: ignore[attr-defined]
    return blueprint


class _DefaultRegistryView:
    """The process-wide registry, re-exported into a per-scrape registry."""

    def collect(self):
        return REGISTRY.collect()
