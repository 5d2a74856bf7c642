"""`sscardctl keys rotate --service printing`, and one rule for bank codes wherever one enters:
registration's staff accounts (sscardctl staff create), printing's banks and outlets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from services.printing.adapters.signing_keys import print_signing_keys
from services.registration import models as registration_models
from shared.config import load_settings
from sscardctl.staff import create_staff_account

SSCARDCTL = str(Path(sys.executable).with_name("sscardctl"))


def test_rotating_the_print_key_keeps_the_previous_one_published(tmp_path):
    env = {**os.environ, "SSCARD_VAR_DIR": str(tmp_path)}
    ring = print_signing_keys(load_settings("printing", env))
    before = ring.current()
    result = subprocess.run(
        [SSCARDCTL, "keys", "rotate", "--service", "printing"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    after = ring.current()
    assert after.kid != before.kid and after.kid in result.stdout
    assert "for 7 days" in result.stdout
    assert [key.kid for key in ring.verification_keys()] == [after.kid, before.kid]


@pytest.mark.parametrize("given", ["icbc", " Icbc ", "ICBC"])
def test_a_bank_operator_created_with_any_case_belongs_to_the_bank_in_capitals(
    settings_factory, given
):
    settings = settings_factory("registration")
    account_id = create_staff_account(
        settings,
        role="bank_operator",
        phone="13900000001",
        password="staff-pass-1",
        name="王五",
        bank_code=given,
    )
    from shared.db.uow import Database

    database = Database(settings.database_url, registration_models.metadata)
    try:
        with database.session_factory() as session:
            account = session.scalars(
                select(registration_models.Account).where(
                    registration_models.Account.account_id == account_id
                )
            ).one()
        assert account.bank_code == "ICBC"
    finally:
        database.dispose()


def test_trace_without_its_own_secret_outside_the_demo_profile_says_so(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("SERVICE_SECRET") and key != "SSCARD_PROFILE"
    }
    result = subprocess.run(
        [SSCARDCTL, "trace", "some-application"],
        env={**env, "SSCARD_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "SSCARDCTL_SERVICE_SECRET is not set" in result.stderr
    assert "Traceback" not in result.stderr
