"""Starts one process of one service: `python -m shared.runtime.process <service> web|worker|relay`.

`make run` (through deploy/Procfile) and docker-compose start every process this same way, so
the two cannot drift apart. The web role serves the service's `create_app()` with gunicorn.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from shared.config import DEFAULT_PORTS, SERVICES, load_settings
from shared.runtime.secrets import refuse_weak_secrets

SIMULATORS = ("identity_registry", "partner_bank", "sms_gateway")
# web and relay are the same for every service; any other role names a module of the service
# with a main() (worker.py, and e.g. a webhook dispatcher).


def app_module(service: str) -> str:
    package = "simulators" if service in SIMULATORS else "services"
    return f"{package}.{service}.app"


def _prepare_metrics_dir(service: str, settings) -> None:
    # Gunicorn workers, the worker and the relay of one service write their metrics into one
    # directory, and the service's /metrics adds them up. Must be set before prometheus_client
    # is imported anywhere in this process.
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        directory = settings.var_dir / "metrics" / service
        directory.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


# Threads per gunicorn worker. Two, measured (tests/bench/bench_application.py): on the hot
# reads, whose requests wait once on PostgreSQL, a second thread fills that wait, while more
# threads only queue for the GIL — four served 20 % fewer requests per second than two on a
# 2-core machine. Raise it for a service whose requests mostly wait on slow peers.
DEFAULT_WEB_THREADS = 2
# Registration's logins and registrations wait for a password-hashing slot (at most 2 hashing
# and 4 waiting per process by default, services/registration/domain/hash_slots.py); more
# threads than those six keep its JWKS, service-token, identity-check and revocation endpoints
# answering through a burst.
WEB_THREADS_BY_SERVICE = {"registration": 8}


def web_server_options(settings) -> dict:
    """gunicorn's settings for a web process (the benchmarks serve their baselines with these)."""
    return {
        "workers": settings.get_int("WEB_WORKERS", 2),
        # gthread, answering the requests gunicorn rejects itself with problem+json that
        # repeats nothing the client sent (shared/web/server.py).
        "worker_class": "shared.web.server.ProblemThreadWorker",
        "threads": settings.get_int(
            "WEB_THREADS", WEB_THREADS_BY_SERVICE.get(settings.service, DEFAULT_WEB_THREADS)
        ),
        "timeout": 30,
    }


def serve_web(service: str) -> None:
    from gunicorn.app.base import BaseApplication

    settings = load_settings(service)
    factory = importlib.import_module(app_module(service)).create_app

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{settings.get('HOST', '127.0.0.1')}:{settings.port}")
            for name, value in web_server_options(settings).items():
                self.cfg.set(name, value)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("accesslog", None)
            self.cfg.set("child_exit", _child_exit)
            self.cfg.set("proc_name", f"sscard-{service}-web")
            # One control socket per service, beside its other local state, instead of one
            # per user that five services would fight over.
            self.cfg.set("control_socket", str(settings.var_dir / "run" / f"{service}.ctl"))
            (settings.var_dir / "run").mkdir(parents=True, exist_ok=True)

        def load(self):
            from shared.observability.logs import configure_logging

            configure_logging(service, level=settings.log_level, json_lines=settings.log_json)
            return factory()

    Server().run()


def _child_exit(_server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def run_module(service: str, role: str) -> None:
    importlib.import_module(f"{app_module(service).rsplit('.', 1)[0]}.{role}").main()


def run_relay(service: str) -> None:
    from shared.db.migrations import service_metadata
    from shared.db.uow import Database
    from shared.messaging.relay import run_relay as relay_main
    from shared.observability.logs import configure_logging

    settings = load_settings(service)
    configure_logging(f"{service}-relay", level=settings.log_level, json_lines=settings.log_json)
    relay_main(settings, Database(settings.database_url, service_metadata(service), pool_size=2))


def print_endpoints() -> None:
    print("sscard is starting; each process logs with its name in front:")
    for name in (*SERVICES, *SIMULATORS):
        port = os.environ.get(f"{name.upper()}_PORT", DEFAULT_PORTS[name])
        probes = "/healthz" if name in SIMULATORS else "/readyz, /openapi.json"
        print(f"  {name:<18} http://127.0.0.1:{port}   ({probes})")
    print("Ctrl-C stops everything.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.runtime.process", description=__doc__)
    parser.add_argument("service", nargs="?", choices=(*SERVICES, *SIMULATORS))
    parser.add_argument("role", nargs="?", help="web, relay, worker, or another entry module")
    parser.add_argument("--print-endpoints", action="store_true")
    args = parser.parse_args(argv)
    if args.print_endpoints:
        print_endpoints()
        return
    if not args.service or not args.role:
        parser.error("service and role are required")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    settings = load_settings(args.service)
    refuse_weak_secrets(settings)  # outside the demo profile: before anything starts
    _prepare_metrics_dir(args.service, settings)
    if args.role == "web":
        serve_web(args.service)
    elif args.role == "relay":
        run_relay(args.service)
    else:
        run_module(args.service, args.role)


if __name__ == "__main__":
    main()
