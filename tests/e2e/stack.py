"""The whole platform, started the way `make run` starts it: every line of deploy/Procfile as
its own process, after `sscardctl migrate` and `sscardctl seed`, on free ports, an isolated
RabbitMQ vhost and fresh databases. Tests then talk to it only over HTTP and AMQP."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

import requests

from shared.config import DEFAULT_PORTS, SERVICES, env_name
from shared.testing.infrastructure import isolated_vhost, temporary_database, vhost_user_prefix
from shared.testing.waiting import wait_until
from sscardctl.broker import read_env_file

ROOT = Path(__file__).resolve().parents[2]
SIMULATORS = ("identity_registry", "partner_bank", "sms_gateway")
COMPONENTS = (*SERVICES, *SIMULATORS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


@dataclass
class Stack:
    var_dir: Path
    environ: dict[str, str]
    urls: dict[str, str]
    amqp_url: str
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    # How the platform reaches a webhook receiver running beside the tests.
    webhook_host = "127.0.0.1"

    def url(self, component: str) -> str:
        return self.urls[component]

    def sscardctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("sscardctl")), *args],
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"sscardctl {' '.join(args)} → {result.returncode}: {result.stderr}"
            )
        return result

    def start(self, name: str) -> None:
        command = shlex.split(procfile()[name])
        command[0] = sys.executable if command[0] == "python" else command[0]
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 — lives as long as the process
        self.processes[name] = subprocess.Popen(
            command,
            env=self.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def wait_ready(self, timeout: float = 60) -> None:
        for component in COMPONENTS:
            path = "/healthz" if component in SIMULATORS else "/readyz"
            if component == "partner_bank" and not any(
                "partner_bank" in line for line in procfile().values()
            ):
                continue

            def answers(url=self.urls[component] + path) -> bool:
                try:
                    return requests.get(url, timeout=2).status_code == 200
                except requests.RequestException:
                    return False

            wait_until(answers, timeout=timeout, interval=0.2, what=f"{component}{path}")

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for path in sorted(self.logs.glob("*.log")):
            content = path.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"--- {path.name}\n" + "\n".join(content))
        return "\n".join(tails)


def start_stack(tmp: Path, exit_stack: ExitStack, **extra_env: str) -> Stack:
    amqp_url = exit_stack.enter_context(isolated_vhost("e2e"))
    urls = {}
    environ = {
        **os.environ,
        "AMQP_URL": amqp_url,
        "SSCARD_VAR_DIR": str(tmp / "var"),
        "LOG_FORMAT": "text",
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "SSCARD_RETRY_DELAYS_MS": "200,500,1000",
        "PARTNER_BANK_STEP_DELAY_SECONDS": "0.2",
        # Every test here calls from 127.0.0.1: the per-address limits would soon refuse the
        # journeys' own log-ins (tests/registration tests the limits themselves).
        "REGISTRATION_ADDRESS_LIMIT_PER_HOUR": "1000",
    }
    for component in COMPONENTS:
        port = free_port() if component in DEFAULT_PORTS else 0
        urls[component] = f"http://127.0.0.1:{port}"
        environ[env_name(component, "PORT")] = str(port)
        environ[env_name(component, "URL")] = urls[component]
    environ["IDENTITY_REGISTRY_URL"] = urls["identity_registry"]
    for service in SERVICES:
        environ[env_name(service, "DATABASE_URL")] = exit_stack.enter_context(
            temporary_database(service, tmp)
        )
        environ[env_name(service, "WEB_WORKERS")] = "1"
    environ.update(extra_env)
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # As `make run` does: every service, and the simulator's demo banks, connect as broker
    # users of their own (named for this vhost, and removed with it).
    environ["SSCARD_BROKER_USER_PREFIX"] = vhost_user_prefix(amqp_url)
    stack = Stack(tmp / "var", environ, urls, amqp_url, logs)
    stack.sscardctl("migrate")
    broker_env = tmp / "var" / "broker.env"
    stack.sscardctl("broker", "setup", "--env-file", str(broker_env))
    stack.sscardctl("broker", "demo-banks", "--env-file", str(broker_env))
    environ.update(read_env_file(broker_env))
    exit_stack.callback(stack.stop_all)
    for name in procfile():
        stack.start(name)
    try:
        stack.wait_ready()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.log_tail()}") from None
    if "seed" in stack.sscardctl("--help").stdout:
        stack.sscardctl("seed")
    return stack
