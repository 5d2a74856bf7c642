"""Outside the demo profile a service refuses to start on a weak secret: its own service secret,
its PII key or its database password missing, a placeholder (`change-me`, `changeme`…) or
shorter than 32 characters; the registration service also on a weak secret or a malformed
SHA-256 among the callers' credentials it holds. One line on stderr names every problem (never
a value) and the process exits with EX_CONFIG (78). `python -m shared.runtime.process` checks before
anything else starts; the demo profile (SSCARD_PROFILE=demo: `make run`, the tests) skips it."""

from __future__ import annotations

import base64
import binascii
import re
import sys
import urllib.parse

from shared.config import (
    PROFILE_VARIABLE,
    SERVICES,
    Settings,
    env_name,
    service_secret_hash_variable,
    service_secret_variable,
)

MIN_SECRET_LENGTH = 32
EX_CONFIG = 78
_PLACEHOLDER = re.compile(r"change[-_ ]?me|placeholder", re.IGNORECASE)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
# Who may ask the registration service for a service token (its domain's SERVICE_CLIENTS).
CALLERS = (*SERVICES, "sscardctl")


def weakness(value: str | None) -> str | None:
    """Why a secret is too weak to run with, or None."""
    if not value or not value.strip():
        return "is not set"
    if _PLACEHOLDER.search(value):
        return "is a placeholder"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    return None


def _pii_key_problem(settings: Settings) -> str | None:
    own = env_name(settings.service, "PII_KEY")
    name = own if settings.environ.get(own) else "SSCARD_PII_KEY"
    value = settings.environ.get(name)
    problem = weakness(value)
    if problem is None:
        try:
            if len(base64.b64decode(value or "", validate=True)) != 32:
                problem = "is not 32 bytes, base64-encoded"
        except (binascii.Error, ValueError):
            problem = "is not base64"
    return f"{name} {problem}" if problem else None


def _database_problem(settings: Settings) -> str | None:
    url = settings.database_url
    if not url.startswith("postgresql"):
        return None  # SQLite: a file, no password
    name = env_name(settings.service, "DATABASE_URL")
    try:
        password = urllib.parse.unquote(urllib.parse.urlsplit(url).password or "")
    except ValueError:
        return f"{name} is malformed"
    problem = weakness(password)
    return f"the password in {name} {problem}" if problem else None


def _caller_problems(settings: Settings) -> list[str]:
    problems = []
    for caller in CALLERS:
        digest = settings.environ.get(service_secret_hash_variable(caller))
        secret = settings.environ.get(service_secret_variable(caller))
        if digest and not _SHA256.match(digest.strip()):
            problems.append(f"{service_secret_hash_variable(caller)} is not a SHA-256 (64 hex)")
        elif secret and (problem := weakness(secret)):
            problems.append(f"{service_secret_variable(caller)} {problem}")
    return problems


def secret_problems(settings: Settings) -> list[str]:
    """Every weak secret of this service's process; none in the demo profile."""
    if settings.is_demo or settings.service not in SERVICES:
        return []
    problems = []
    if settings.service == "registration":
        problems += _caller_problems(settings)  # it checks the callers' secrets, calls no one
    else:
        variable = service_secret_variable(settings.service)
        if problem := weakness(settings.environ.get(variable)):
            problems.append(f"{variable} {problem}")
    for found in (_pii_key_problem(settings), _database_problem(settings)):
        if found:
            problems.append(found)
    return problems


def refuse_weak_secrets(settings: Settings) -> None:
    """Exits (78) with one line naming every problem, unless there is none."""
    problems = secret_problems(settings)
    if problems:
        print(
            f"sscard {settings.service}: refusing to start with weak secrets outside the demo "
            f"profile ({PROFILE_VARIABLE}={settings.profile}): " + "; ".join(problems),
            file=sys.stderr,
        )
        sys.exit(EX_CONFIG)
