"""`sscardctl staff create`: staff accounts on the registration database, who then log in
through POST /sessions like everyone else."""

from __future__ import annotations

import io

import jwt
import pytest

from sscardctl import cli
from tests.registration.factories import (
    FAST_HASHING,
    assert_problem,
    bearer,
    log_in,
    next_phone,
    register,
)


@pytest.fixture
def sscardctl(settings, monkeypatch, capsys):
    """Runs sscardctl against the test's registration database; returns (code, out, err)."""
    monkeypatch.setenv("REGISTRATION_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SSCARD_VAR_DIR", str(settings.var_dir))
    for name, value in FAST_HASHING.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out.strip(), captured.err.strip()

    return run


def create(sscardctl, role: str, phone: str, *extra: str):
    return sscardctl(
        "staff", "create", "--role", role, "--phone", phone,
        "--password", "staff-pass-1", "--name", "王审核", *extra,
    )  # fmt: skip


@pytest.mark.parametrize("role", ["reviewer", "integrator", "admin"])
def test_staff_are_created_and_log_in_with_their_role(sscardctl, client, role):
    phone = next_phone()
    code, account_id, _ = create(sscardctl, role, phone)
    assert code == 0
    session = log_in(client, phone, "staff-pass-1").get_json()
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["roles"]) == (account_id, [role])
    assert "bank_code" not in claims
    me = client.get("/api/v1/accounts/me", headers=bearer(session["access_token"])).get_json()
    assert me["id_number_masked"] is None
    assert me["roles"] == [role]


def test_a_bank_operator_carries_their_bank_in_the_token(sscardctl, client):
    phone = next_phone()
    code, account_id, _ = create(sscardctl, "bank_operator", phone, "--bank-code", "ICBC")
    assert code == 0
    token = log_in(client, phone, "staff-pass-1").get_json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["roles"], claims["bank_code"]) == (
        account_id,
        ["bank_operator"],
        "ICBC",
    )
    assert (
        client.get("/api/v1/accounts/me", headers=bearer(token)).get_json()["bank_code"] == "ICBC"
    )


def test_bad_arguments_exit_2_with_a_clear_message(sscardctl, capsys):
    code, out, err = create(sscardctl, "bank_operator", next_phone())
    assert (code, out) == (2, "")
    assert "--bank-code" in err and "bank operator" in err
    code, _, err = create(sscardctl, "reviewer", next_phone(), "--bank-code", "ICBC")
    assert code == 2 and "Only bank operators" in err
    code, _, err = create(sscardctl, "admin", "12345")
    assert code == 2 and "--phone" in err
    with pytest.raises(SystemExit) as exited:
        create(sscardctl, "citizen", next_phone())
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_phone_that_has_an_account_exits_1(sscardctl, client):
    _, citizen = register(client)
    code, out, err = create(sscardctl, "admin", citizen["phone"])
    assert (code, out) == (1, "")
    assert "already has an account" in err
    phone = next_phone()
    assert create(sscardctl, "admin", phone)[0] == 0
    assert create(sscardctl, "reviewer", phone)[0] == 1


def test_the_password_may_come_from_stdin(sscardctl, client, monkeypatch):
    phone = next_phone()
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-pass\n"))
    code, _, _ = sscardctl(
        "staff",
        "create",
        "--role",
        "admin",
        "--phone",
        phone,
        "--password",
        "-",
        "--name",
        "管理员",
    )
    assert code == 0
    assert log_in(client, phone, "from-stdin-pass").status_code == 200
    assert_problem(log_in(client, phone, "-"), 401)
