"""The application service's read paths under load: `GET /api/v1/applications/{id}` (a
citizen's own application with its timeline) and `GET /api/v1/progress` (the public look-up),
each beside a trivial Flask JSON endpoint served the same way in the same run.

Both servers run as `python -m shared.runtime.process application web` runs the service: gunicorn,
gthread workers, `WEB_WORKERS` × `WEB_THREADS` (2 × 2 by default), on PostgreSQL. The load
comes from separate processes (Python, http.client keep-alive connections). The progress
rate limit stays on, as in production, with a limit no run reaches: all the load comes from
one address, as from a channel's server, and is counted in the database as such a client's
look-ups are (in leases of up to 256, services/application/domain/rate_window.py).

Target: at least 60 % of the trivial endpoint's requests per second, p99 under 25 ms.

    make bench ARGS=application
    python -m tests.bench.bench_application serve-trivial PORT   (used by the benchmark)
    python -m tests.bench.bench_application serve-floor PORT     (used by the benchmark)
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.bench.harness import Result

REPO_ROOT = Path(__file__).resolve().parents[2]
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "1"))
MEASURE_SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
# The three endpoints are measured in turn, this many times, and each figure is the median
# round: a machine busy with other work then weighs on all three alike.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
LOAD_PROCESSES = int(os.environ.get("BENCH_LOAD_PROCESSES", "2"))
CONNECTIONS_PER_PROCESS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
APPLICATIONS = 200
TARGET_RATIO = 0.60
TARGET_P99_MS = 25.0


# -- the trivial baseline, served like a service ------------------------------------------------


def serve_trivial(port: int) -> None:
    """A one-route Flask app, served as the application service is."""
    from flask import Flask, jsonify

    app = Flask("trivial")

    @app.get("/ping")
    def ping():
        return jsonify(status="ok", service="trivial")

    serve_flask(app, port, "trivial")


def serve_flask(app, port: int, name: str) -> None:
    """`app` on gunicorn with the settings shared.runtime.process.serve_web gives the application
    service (its workers and threads)."""
    from gunicorn.app.base import BaseApplication

    from shared.config import load_settings
    from shared.runtime.process import web_server_options

    options = web_server_options(load_settings("application"))

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"127.0.0.1:{port}")
            for option, value in options.items():
                self.cfg.set(option, value)
            self.cfg.set("accesslog", None)
            self.cfg.set(
                "control_socket", os.path.join(tempfile.gettempdir(), f"{name}-{port}.ctl")
            )

        def load(self):
            return app

    Server().run()


def serve_floor(port: int) -> None:
    """The floor a read per request allows: a bare Flask app making exactly the service's
    database reads (the same statements through the same HotReads, the same blind index) and
    answering the same bodies, served like the trivial app, with none of sscard's shell: no
    request ids, access line, metrics, token check, validation, rate limit or problem
    handling. What the service adds to this is the price of that shell."""
    from flask import Flask, Response, request

    from services.application.dao import (
        dao_get_application_by_acceptance_number,
        dao_get_application_view,
        dao_get_latest_application_by_id_number,
    )
    from services.application.deps import build
    from shared.config import load_settings
    from shared.time import format_time

    deps = build(load_settings("application"))
    app = Flask("floor")

    @app.get("/floor/applications/<application_id>")
    def own(application_id: str):
        row = dao_get_application_view(deps.reads, application_id)
        return Response(row.view, mimetype="application/json")

    @app.get("/floor/progress")
    def progress():
        if "id_number" in request.args:
            index = deps.id_numbers.blind_index(request.args["id_number"])
            row = dao_get_latest_application_by_id_number(deps.reads, index)
        else:
            number = request.args["acceptance_number"]
            row = dao_get_application_by_acceptance_number(deps.reads, number)
        return {
            "status": row.status,
            "updated_at": format_time(row.status_at),
            "outlet": {"name": row.outlet_name, "address": row.outlet_address},
        }

    serve_flask(app, port, "floor")


# -- load generation (runs in separate processes) -----------------------------------------------


def _load_worker(port: int, requests: list, connections: int, warmup: float, seconds: float, out):
    """`connections` keep-alive clients on threads; latencies of the measured window only."""
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        rng = random.Random(index)
        while True:
            path, headers = requests[rng.randrange(len(requests))]
            began = time.perf_counter()
            if began >= stop_at:
                break
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            ended = time.perf_counter()
            if began >= measure_from:
                latencies[index].append(ended - began)
                errors[index] += not ok
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.send(([value for chunk in latencies for value in chunk], sum(errors)))
    out.close()


def generate_load(port: int, requests: list) -> dict:
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for _ in range(LOAD_PROCESSES):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_load_worker,
            args=(port, requests, CONNECTIONS_PER_PROCESS, WARMUP_SECONDS, MEASURE_SECONDS, sender),
        )
        process.start()
        pipes.append(receiver)
        processes.append(process)
    latencies: list[float] = []
    errors = 0
    for receiver in pipes:
        values, failed = receiver.recv()
        latencies.extend(values)
        errors += failed
    for process in processes:
        process.join()
    latencies.sort()
    count = len(latencies)

    def percentile(fraction: float) -> float:
        return latencies[min(count - 1, int(fraction * count))] * 1000 if count else float("nan")

    return {
        "rps": count / MEASURE_SECONDS,
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "requests": count,
        "errors": errors,
    }


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server_process(command: list[str], env: dict, port: int, health_path: str):
    process = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", health_path)
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command)} did not come up")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


# -- the data the service serves ----------------------------------------------------------------


def seed(settings, token_authority) -> tuple[list, list]:
    """Applications with a timeline each; the request lists for both endpoints."""
    from services.application.dao import (
        dao_add_timeline_entry,
        dao_save_application,
        dao_upsert_outlet,
    )
    from services.application.deps import build
    from services.application.domain.acceptance import new_acceptance_number
    from services.application.domain.status import Status
    from services.application.models import Application
    from shared.db.uow import UnitOfWork
    from shared.personal_data.protection import mask_id_number
    from shared.personal_data.resident_id import check_character

    deps = build(settings)
    id_numbers, database = deps.id_numbers, deps.database
    outlet_id = str(uuid.uuid4())
    own, progress = [], []
    now = datetime.now(UTC)
    with UnitOfWork(database, "application") as uow:
        dao_upsert_outlet(
            uow.session,
            {
                "outlet_id": outlet_id,
                "bank_code": "ICBC",
                "bank_name": "中国工商银行",
                "name": "工商银行朝阳支行",
                "district": "朝阳区",
                "address": "北京市朝阳区建国路1号",
                "active": True,
            },
            now,
        )
        for index in range(APPLICATIONS):
            born = date(1960, 1, 1) + timedelta(days=index * 37)
            body = f"110105{born:%Y%m%d}{index % 900 + 100:03d}"
            id_number = body + check_character(body)
            account_id = str(uuid.uuid4())
            application_id = str(uuid.uuid4())
            name = "测试" + "伟芳娜敏静丽强磊军洋"[index % 10]
            acceptance_number = new_acceptance_number(now)
            uow.session.add(
                Application(
                    application_id=application_id,
                    account_id=account_id,
                    status=Status.SHIPPED.value,
                    status_at=now,
                    outlet_id=outlet_id,
                    outlet_name="工商银行朝阳支行",
                    outlet_address="北京市朝阳区建国路1号",
                    bank_code="ICBC",
                    acceptance_number=acceptance_number,
                    name=name,
                    gender="male" if int(id_number[16]) % 2 else "female",
                    ethnicity="汉",
                    birth_date=born,
                    id_number_encrypted=id_numbers.encrypt(id_number),
                    id_number_index=id_numbers.blind_index(id_number),
                    id_number_masked=mask_id_number(id_number),
                    open_account_key=account_id,
                    phone="13800000000",
                    address="北京市朝阳区建国路88号",
                    person_status="employed",
                    card_id=str(uuid.uuid4()),
                    card_serial=f"A{index:08d}",
                    rejection_reasons=[],
                    created_at=now,
                    updated_at=now,
                    submitted_at=now,
                )
            )
            uow.session.flush()
            statuses = [Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.PRINT_REQUESTED]
            statuses += [Status.PRINTED, Status.SHIPPED]
            for minute, status in enumerate(statuses):
                dao_add_timeline_entry(
                    uow.session,
                    application_id,
                    event_id=str(uuid.uuid4()),
                    status=status,
                    at=now + timedelta(minutes=minute),
                    detail=f"{status.value} detail",
                )
            dao_save_application(uow.session, uow.session.get(Application, application_id))
            own.append(
                (f"/api/v1/applications/{application_id}", token_authority.citizen(account_id))
            )
            if index % 2:
                query = {"acceptance_number": acceptance_number, "name": name}
            else:
                query = {"id_number": id_number, "name": name}
            progress.append((f"/api/v1/progress?{urllib.parse.urlencode(query)}", {}))
        uow.commit()
    database.dispose()
    return own, progress


def check_answers(port: int, requests: list) -> None:
    """Every benchmarked request must succeed, or the figures mean nothing."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for path, headers in requests[:5]:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
    connection.close()


TRIVIAL = "trivial Flask JSON"
OWN = "GET /api/v1/applications/{id}"
PROGRESS = "GET /api/v1/progress"
# Reference lines, not targets: the same reads from a bare Flask app (serve_floor).
FLOOR_OWN = "floor: bare Flask, the read of GET /applications/{id}"
FLOOR_PROGRESS = "floor: bare Flask, the read of GET /progress"


def on_floor(requests: list) -> list:
    """The same requests (headers and all, so the server parses as much) to serve_floor."""
    return [(path.replace("/api/v1/", "/floor/", 1), headers) for path, headers in requests]


def every_round(measured: list[dict]) -> str:
    return ", ".join(f"{figures['rps']:.0f}" for figures in measured)


def median_round(measured: list[dict]) -> dict:
    ordered = sorted(measured, key=lambda figures: figures["rps"])
    return ordered[len(ordered) // 2]


def run() -> list[Result]:
    from shared.config import load_settings
    from shared.db.migrations import upgrade
    from shared.testing.infrastructure import postgres_database
    from shared.testing.tokens import TokenAuthority

    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-app-")))
        database_url = stack.enter_context(postgres_database("bench_application"))
        authority = TokenAuthority(directory / "token-keys").start()
        stack.callback(authority.stop)
        port, trivial_port, floor_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "APPLICATION_DATABASE_URL": database_url,
            "APPLICATION_PORT": str(port),
            "REGISTRATION_URL": authority.url,
            "SSCARD_VAR_DIR": str(directory / "var"),
            # Counted as in production, never refused (all the load comes from one address).
            "APPLICATION_PROGRESS_RATE_LIMIT": str(10**12),
        }
        settings = load_settings("application", env)
        upgrade(settings)
        own, progress = seed(settings, authority)

        trivial_command = [sys.executable, "-m", __spec__.name, "serve-trivial", str(trivial_port)]
        floor_command = [sys.executable, "-m", __spec__.name, "serve-floor", str(floor_port)]
        service_command = [sys.executable, "-m", "shared.runtime.process", "application", "web"]
        stack.enter_context(server_process(trivial_command, env, trivial_port, "/ping"))
        floor_own, floor_progress = on_floor(own), on_floor(progress)
        stack.enter_context(server_process(floor_command, env, floor_port, floor_own[0][0]))
        stack.enter_context(server_process(service_command, env, port, "/healthz"))
        for checked_port, requests in [
            (port, own),
            (port, progress),
            (floor_port, floor_own),
            (floor_port, floor_progress),
        ]:
            check_answers(checked_port, requests)
        loads = {
            TRIVIAL: (trivial_port, [("/ping", {})]),
            OWN: (port, own),
            PROGRESS: (port, progress),
            FLOOR_OWN: (floor_port, floor_own),
            FLOOR_PROGRESS: (floor_port, floor_progress),
        }
        order = list(loads)
        rounds: dict[str, list[dict]] = {name: [] for name in loads}
        for _ in range(ROUNDS):
            # Each round in a different order, so no endpoint is always measured first or
            # last (a machine that drifts within a round then weighs on each in turn).
            for name in order:
                rounds[name].append(generate_load(*loads[name]))
            order = order[1:] + order[:1]

    trivial = median_round(rounds[TRIVIAL])
    results = []
    for name in (OWN, PROGRESS, FLOOR_OWN, FLOOR_PROGRESS):
        measured = median_round(rounds[name])
        ratio = measured["rps"] / trivial["rps"] if trivial["rps"] else 0.0
        targeted = name in (OWN, PROGRESS)
        met = (
            ratio >= TARGET_RATIO and measured["p99_ms"] < TARGET_P99_MS and not measured["errors"]
        )
        results.append(
            Result(
                name=name,
                unit="req/s",
                value=measured["rps"],
                baseline_name=TRIVIAL,
                baseline=trivial["rps"],
                target=(
                    f"≥{TARGET_RATIO:.0%} of trivial, p99 < {TARGET_P99_MS:.0f} ms"
                    if targeted
                    else "none (reference: what a read per request allows)"
                ),
                met=met if targeted else None,
                details={
                    "p50 / p99": f"{measured['p50_ms']:.1f} / {measured['p99_ms']:.1f} ms "
                    f"(trivial {trivial['p50_ms']:.1f} / {trivial['p99_ms']:.1f} ms)",
                    "requests / errors": f"{measured['requests']} / {measured['errors']}",
                    "every round (req/s)": f"{every_round(rounds[name])} "
                    f"(trivial {every_round(rounds[TRIVIAL])})",
                    # Each round beside the trivial round measured in the same round: how much of
                    # the spread is the machine's speed drifting between rounds.
                    "per-round ratios": ", ".join(
                        f"{mine['rps'] / theirs['rps']:.0%}"
                        for mine, theirs in zip(rounds[name], rounds[TRIVIAL], strict=True)
                        if theirs["rps"]
                    ),
                    "load": f"{LOAD_PROCESSES} processes × {CONNECTIONS_PER_PROCESS} keep-alive "
                    f"connections; median of {ROUNDS} rounds of {MEASURE_SECONDS:.0f} s",
                },
            )
        )
    return results


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve-trivial":
        serve_trivial(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "serve-floor":
        serve_floor(int(sys.argv[2]))
    else:
        for result in run():
            print(result.render())
