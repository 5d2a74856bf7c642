"""Webhook deliveries per second to a local receiver, beside the receiver's own request rate
driven directly by a plain client in the same run.

The receiver runs in its own process (so it does not share a GIL with the dispatcher) and
answers 204 at once. The baseline posts the same signed-size payloads with the same number of
threads and keep-alive sessions as the dispatcher; the measured figure is the dispatcher
claiming due rows, signing, posting and recording every attempt in the database until all
deliveries are `delivered`. Database: PostgreSQL, or SQLite with SSCARD_TEST_DB=sqlite.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import urllib3
from sqlalchemy import func, select

from tests.bench.harness import Result

EVENTS = 1000
SUBSCRIPTIONS = 4
WORKERS = 16
TARGET = 500.0


def _serve(port_value, counter, ready) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with counter.get_lock():
                counter.value += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_value.value = server.server_address[1]
    ready.set()
    server.serve_forever()


def _baseline(url: str, payload: bytes, total: int) -> float:
    """A plain client: the same HTTP library and threads, keep-alive, no database, no
    signing: what the receiver can take."""
    manager = urllib3.PoolManager(maxsize=WORKERS)
    per_thread = total // WORKERS

    def work(_index: int) -> None:
        for _ in range(per_thread):
            response = manager.request(
                "POST",
                url,
                body=payload,
                headers={"Content-Type": "application/cloudevents+json"},
                retries=False,
            )
            assert response.status == 204

    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(work, range(WORKERS)))
    return per_thread * WORKERS / (time.perf_counter() - started)


def _deliveries_per_second(url: str, workdir: Path) -> tuple[float, dict]:
    from services.notification import models
    from services.notification.dao.subscriptions import dao_create_subscription
    from services.notification.deps import build
    from services.notification.dispatcher import Dispatcher
    from services.notification.domain.payloads import new_pseudonym_salt
    from services.notification.domain.scopes import bank_scope
    from services.notification.domain.webhooks import SECRET_COLUMN, new_secret, public_payload
    from services.notification.use_cases.subscriptions import queue_webhook_deliveries
    from shared.config import load_settings
    from shared.db.migrations import upgrade
    from shared.db.uow import UnitOfWork
    from shared.testing.infrastructure import database_backend, temporary_database
    from tests.notification.factories import Journey

    with ExitStack() as stack:
        database_url = stack.enter_context(temporary_database("notification_bench", workdir))
        settings = load_settings(
            "notification",
            {
                "NOTIFICATION_DATABASE_URL": database_url,
                "SSCARD_VAR_DIR": str(workdir / "var"),
                "WEBHOOK_ALLOW_PRIVATE": "1",
                "DISPATCH_WORKERS": str(WORKERS),
                "DISPATCH_POLL_INTERVAL": "0.01",
                "LOG_LEVEL": "WARNING",
            },
        )
        upgrade(settings)
        deps = build(settings, pool_size=4)
        deps.providers = {}
        database = deps.database
        cipher = deps.cipher
        with UnitOfWork(database, "notification") as uow:
            for index in range(SUBSCRIPTIONS):
                dao_create_subscription(
                    uow.session,
                    f"bench-integrator-{index}",
                    f"{url}/{index}",
                    ["card.*"],
                    cipher.encrypt(new_secret(), column=SECRET_COLUMN),
                    scope=bank_scope("ICBC"),
                    pseudonym_salt=new_pseudonym_salt(),
                )
            uow.commit()
        journey = Journey()
        for start in range(0, EVENTS, 250):
            with UnitOfWork(database, "notification") as uow:
                for _ in range(min(250, EVENTS - start)):
                    event = journey.card("shipped")
                    queue_webhook_deliveries(
                        uow,
                        deps,
                        event_id=event.id,
                        event_type=event.type,
                        payload=public_payload(event).decode(),
                        account_id=event.data["account_id"],
                        bank_code=event.data["bank_code"],
                        application_id=event.data["application_id"],
                    )
                uow.commit()
        total = EVENTS * SUBSCRIPTIONS
        delivered = select(func.count()).where(models.WebhookDelivery.status == "delivered")

        config = deps.options
        dispatcher = Dispatcher(deps)
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        started = time.perf_counter()
        thread.start()
        with database.session_factory() as session:
            while session.execute(delivered).scalar_one() < total:
                session.rollback()
                time.sleep(0.05)
                if time.perf_counter() - started > 300:
                    raise RuntimeError("deliveries did not finish within 300 s")
        elapsed = time.perf_counter() - started
        dispatcher.stop()
        thread.join(30)
        dispatcher.close()
        with database.session_factory() as session:
            attempts = session.execute(
                select(func.count(models.WebhookAttempt.attempt_id))
            ).scalar_one()
        database.dispose()
        details = {
            "deliveries": total,
            "attempts recorded": attempts,
            "subscriptions": SUBSCRIPTIONS,
            "dispatcher threads": WORKERS,
            "per-subscription limit": config.webhook_max_in_flight,
            "database": database_backend(),
        }
        return total / elapsed, details


def run() -> list[Result]:
    from services.notification.domain.webhooks import public_payload
    from tests.notification.factories import Journey

    context = multiprocessing.get_context("spawn")
    port, counter, ready = context.Value("i", 0), context.Value("l", 0), context.Event()
    receiver = context.Process(target=_serve, args=(port, counter, ready), daemon=True)
    receiver.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the receiver did not start")
        url = f"http://127.0.0.1:{port.value}/hooks"
        payload = public_payload(Journey().card("shipped"))
        _baseline(url, payload, 400)  # warm-up
        baseline = _baseline(url, payload, EVENTS * SUBSCRIPTIONS)
        with tempfile.TemporaryDirectory(prefix="sscard-bench-") as workdir:
            rate, details = _deliveries_per_second(url, Path(workdir))
    finally:
        receiver.terminate()
        receiver.join(10)
    return [
        Result(
            name="webhook deliveries (claim, sign, POST, record)",
            unit="deliveries/s",
            value=rate,
            baseline_name="receiver driven by a plain client",
            baseline=baseline,
            target=f">= {TARGET:.0f} deliveries/s",
            met=rate >= TARGET,
            details=details,
        )
    ]
