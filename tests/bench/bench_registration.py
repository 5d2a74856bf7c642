"""Logins per second on the registration service as `make run` serves it (gunicorn, 2 workers,
SQLite, production argon2id cost), beside `/healthz` on the same server: the difference is
what one argon2id verification costs.

The accounts are registered through the API first, as a person registers: the identity registry
and the SMS gateway (with its carrier check) are their real simulators on local ports, the
people on file and their phones theirs with the carrier, each code read back from the texts.
The per-address limits are off: every bench thread calls from 127.0.0.1, and the limits are
not what is measured."""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from services.registration import config
from services.registration.domain.passwords import Passwords
from shared.db.migrations import upgrade
from shared.personal_data.resident_id import check_character
from shared.testing.waiting import wait_until
from tests.bench.harness import Result
from tests.support.identity_registry import RegistryServer
from tests.support.sms_gateway import SmsGatewayServer

SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
ACCOUNTS = 8
PASSWORD = "bench-password-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _id_number(n: int) -> str:
    body = f"11010519900101{n:03d}"
    return body + check_character(body)


def _hammer(send, seconds: float, concurrency: int) -> tuple[float, list[float], int]:
    """Requests per second, latencies (ms), and failures, from `concurrency` threads."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        session = requests.Session()
        mine, bad = [], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if send(session, index) != 200:
                bad += 1
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies, failures[0]


def _p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]


def _register(base: str, sms: SmsGatewayServer, phone: str, id_number: str) -> None:
    requests.post(
        base + "/api/v1/phone-codes", json={"phone": phone, "purpose": "register"}, timeout=30
    ).raise_for_status()
    code = re.search(r"[0-9]{6}", sms.texts_to(phone)[0]).group()
    body = {"phone": phone, "code": code, "password": PASSWORD, "name": "测试"}
    response = requests.post(
        base + "/api/v1/accounts", json=body | {"id_number": id_number}, timeout=30
    )
    response.raise_for_status()


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-registration-") as directory:
        port = _free_port()
        registry, sms = RegistryServer(Path(directory)), SmsGatewayServer(Path(directory))
        environ = {
            **os.environ,
            "SSCARD_VAR_DIR": directory,
            "REGISTRATION_DATABASE_URL": f"sqlite:///{Path(directory) / 'registration.sqlite3'}",
            "REGISTRATION_PORT": str(port),
            "IDENTITY_REGISTRY_URL": registry.url,
            "SMS_GATEWAY_URL": sms.url,
            "REGISTRATION_ADDRESS_LIMIT_PER_HOUR": "0",
            "LOG_LEVEL": "WARNING",
        }
        settings = config.load(environ)
        upgrade(settings)
        options = config.options(settings)
        passwords = Passwords(
            time_cost=options.argon2_time_cost,
            memory_kib=options.argon2_memory_kib,
            parallelism=options.argon2_parallelism,
        )
        stored = passwords.hash(PASSWORD)
        started = time.perf_counter()
        for _ in range(5):
            passwords.verify(stored, PASSWORD)
        hash_ms = (time.perf_counter() - started) / 5 * 1000

        server = subprocess.Popen(
            [sys.executable, "-m", "shared.runtime.process", "registration", "web"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: _answers(base + "/healthz"), timeout=60, what="the registration service"
            )
            phones = [f"1390000{n:04d}" for n in range(ACCOUNTS)]
            for n, phone in enumerate(phones):
                registry.add(_id_number(n), "测试")
                sms.record_owner(phone, "测试", _id_number(n))
                _register(base, sms, phone, _id_number(n))

            health_rate, health_latencies, _ = _hammer(
                lambda session, _i: session.get(base + "/healthz", timeout=30).status_code,
                SECONDS,
                CONCURRENCY,
            )
            login_rate, login_latencies, login_failures = _hammer(
                lambda session, i: (
                    session.post(
                        base + "/api/v1/sessions",
                        json={"phone": phones[i % ACCOUNTS], "password": PASSWORD},
                        timeout=30,
                    ).status_code
                ),
                SECONDS,
                CONCURRENCY,
            )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
            registry.stop()
            sms.stop()

    return [
        Result(
            name="POST /api/v1/sessions (argon2id verify + token)",
            unit="req/s",
            value=login_rate,
            baseline_name="GET /healthz",
            baseline=health_rate,
            details={
                "argon2id": (
                    f"t={options.argon2_time_cost}, m={options.argon2_memory_kib} KiB, "
                    f"p={options.argon2_parallelism}; one verify {hash_ms:.0f} ms in-process"
                ),
                "sessions p50 / p99": (
                    f"{statistics.median(login_latencies):.0f} / {_p99(login_latencies):.0f} ms"
                    f" ({len(login_latencies)} requests, {login_failures} not 200)"
                ),
                "healthz p50 / p99": (
                    f"{statistics.median(health_latencies):.1f} / {_p99(health_latencies):.1f} ms"
                ),
                "setup": (
                    f"gunicorn 2 workers x 4 threads, SQLite, {CONCURRENCY} client threads, "
                    f"{SECONDS:.0f} s each"
                ),
            },
        )
    ]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
