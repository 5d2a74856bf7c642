"""sscardctl as an operator runs it: a separate process, the same environment variables as the
services, plain output and meaningful exit codes (0 done, 1 failed, 2 bad arguments)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.db.uow import Database
from shared.testing.running import running_consumer
from shared.testing.waiting import wait_until
from tests.shared.integration import effects

SSCARDCTL = str(Path(sys.executable).with_name("sscardctl"))


def sscardctl(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SSCARDCTL, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_arguments_exit_2_with_usage():
    for args in (
        ["dlq", "replay"],
        ["dlq", "replay", "some-id", "--all"],
        ["no-such-command"],
        ["staff", "create", "--role", "janitor"],
    ):
        result = sscardctl(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "usage:" in result.stderr


def test_an_unreachable_broker_is_a_clear_failure():
    result = sscardctl("dlq", "list", AMQP_URL="amqp://guest:guest@127.0.0.1:1/%2F")
    assert result.returncode == 1
    assert "cannot reach the broker at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_trace_without_a_registration_service_is_a_clear_failure(tmp_path):
    result = sscardctl(
        "trace",
        "some-application",
        REGISTRATION_URL="http://127.0.0.1:9",
        SSCARD_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 1
    assert "cannot obtain a token from the registration service" in result.stderr


def test_dlq_list_and_replay_by_id(settings_factory, fresh_broker_url):
    settings = settings_factory(effects.SERVICE, migrate=False, amqp_url=fresh_broker_url)
    database = Database(settings.database_url, effects.metadata)
    effects.metadata.create_all(database.engine)
    effects.declare(settings)
    env = {"AMQP_URL": fresh_broker_url}

    assert sscardctl("dlq", "list", **env).stdout.strip() == "no parked messages"

    poison = effects.publish_raw(settings, b"not even json")
    with running_consumer(settings, database, effects.HANDLERS):
        wait_until(lambda: poison in sscardctl("dlq", "list", **env).stdout, what="parked")
    listed = sscardctl("dlq", "list", "--service", effects.SERVICE, **env)
    assert listed.returncode == 0
    assert "permanent" in listed.stdout and "not JSON" in listed.stdout

    missing = sscardctl("dlq", "replay", "no-such-id", **env)
    assert missing.returncode == 1
    assert "no parked message with id no-such-id" in missing.stderr

    replayed = sscardctl("dlq", "replay", poison, **env)
    assert replayed.returncode == 0
    assert f"replayed {poison}" in replayed.stdout
    assert f"→ {effects.SERVICE}.events" in replayed.stdout
    assert effects.queue_depth(settings, f"{effects.SERVICE}.events") == 1
    assert sscardctl("dlq", "list", **env).stdout.strip() == "no parked messages"
    database.dispose()
