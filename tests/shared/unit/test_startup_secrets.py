"""Outside the demo profile a process refuses to start on placeholder or short secrets, with one
clear line and a non-zero exit; the demo profile starts on anything."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys

import pytest

from shared.config import load_settings
from shared.runtime.secrets import EX_CONFIG, secret_problems

STRONG = "S" * 40
PII_KEY = base64.b64encode(bytes(range(32))).decode()


def environment(**changes: str) -> dict[str, str]:
    base = {
        "SSCARD_PROFILE": "production",
        "SSCARD_PII_KEY": PII_KEY,
        "APPLICATION_SERVICE_SECRET": STRONG,
        "APPLICATION_DATABASE_URL": f"postgresql://application:{'p' * 40}@db/application",
    }
    return {**base, **changes}


def run_entry_point(service: str, environ: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_SERVICE_SECRET", "_PII_KEY")) and key != "SSCARD_PROFILE"
    }
    env.update(environ, SSCARD_VAR_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-m", "shared.runtime.process", service, "web"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_change_me_secrets_outside_the_demo_profile_refuse_to_start(tmp_path):
    result = run_entry_point(
        "application",
        environment(
            APPLICATION_SERVICE_SECRET="change-me",
            SSCARD_PII_KEY="change-me",
            APPLICATION_DATABASE_URL="postgresql://application:change-me-application@db/app",
        ),
        tmp_path,
    )
    assert result.returncode == EX_CONFIG
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("sscard application: refusing to start with weak secrets")
    assert "APPLICATION_SERVICE_SECRET is a placeholder" in line
    assert "SSCARD_PII_KEY is a placeholder" in line
    assert "the password in APPLICATION_DATABASE_URL is a placeholder" in line
    assert "change-me-application" not in line  # names the variable, never the value


def test_a_short_or_missing_secret_refuses_too(tmp_path):
    result = run_entry_point(
        "printing",
        {
            "SSCARD_PROFILE": "production",
            "PRINTING_SERVICE_SECRET": "short-but-random-Q3x",
            "PRINTING_DATABASE_URL": "sqlite:///" + str(tmp_path / "printing.sqlite3"),
        },
        tmp_path,
    )
    assert result.returncode == EX_CONFIG
    assert "PRINTING_SERVICE_SECRET is shorter than 32 characters" in result.stderr
    assert "SSCARD_PII_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    ("service", "changes", "problem"),
    [
        ("application", {}, None),
        ("application", {"SSCARD_PROFILE": "demo", "SSCARD_PII_KEY": "change-me"}, None),
        (
            "application",
            {"APPLICATION_PII_KEY": base64.b64encode(b"x" * 16).decode()},
            "APPLICATION_PII_KEY",
        ),
        ("application", {"SSCARD_PII_KEY": "A" * 44}, "32 bytes"),
        ("application", {"APPLICATION_SERVICE_SECRET": "changeme" + STRONG}, "placeholder"),
        ("application", {"APPLICATION_SERVICE_SECRET": ""}, "is not set"),
        ("registration", {"PRINTING_SERVICE_SECRET_SHA256": "abc"}, "not a SHA-256"),
        ("registration", {"SSCARDCTL_SERVICE_SECRET": "change-me"}, "SSCARDCTL_SERVICE_SECRET"),
        (
            "registration",
            {"PRINTING_SERVICE_SECRET_SHA256": hashlib.sha256(b"p").hexdigest()},
            None,
        ),
    ],
)
def test_what_counts_as_weak(service, changes, problem, tmp_path):
    environ = {**environment(**changes), "SSCARD_VAR_DIR": str(tmp_path)}
    if service == "registration":
        environ["REGISTRATION_DATABASE_URL"] = f"postgresql://registration:{'r' * 40}@db/r"
    problems = secret_problems(load_settings(service, environ))
    if problem is None:
        assert problems == []
    else:
        assert any(problem in found for found in problems), problems
