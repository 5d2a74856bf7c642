"""`sscardctl staff create|disable|enable|reset-password`: staff accounts (reviewer, bank
operator, integrator, admin), made and managed by an operator directly on the registration
service's own database. The public API only ever makes citizens; this is the one way in for
staff.

`disable PHONE` stops the account logging in and its tokens working (every service refuses
them within a minute); `enable PHONE` lets it log in again (tokens from before stay refused);
`reset-password PHONE` prints a new generated password once and refuses the tokens the account
held. Exit codes: 0 done, 1 no staff account has that phone, 2 bad arguments."""

from __future__ import annotations

import argparse
import sys

from services.registration import config, deps
from services.registration.domain.accounts import STAFF_ROLES, AccountExists
from services.registration.use_cases import account_states
from services.registration.use_cases import accounts as use_cases
from shared.config import Settings
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput, NotFound

READ_FROM_STDIN = "-"


def create_staff_account(
    settings: Settings,
    *,
    role: str,
    phone: str,
    password: str,
    name: str,
    bank_code: str | None = None,
) -> str:
    """Creates the account and returns its id; InvalidInput or AccountExists when it cannot.
    `sscardctl seed` uses this too."""
    dependencies = deps.build(settings, pool_size=1)
    try:
        with UnitOfWork(dependencies.database, settings.service) as uow:
            account_id = use_cases.create_staff_account(
                uow,
                dependencies,
                role=role,
                phone=phone,
                password=password,
                name=name,
                bank_code=bank_code,
            )
            uow.commit()  # sscardctl is the edge here
    finally:
        dependencies.database.dispose()
    return account_id


def _complain(problem: InvalidInput | AccountExists) -> None:
    for field, messages in (problem.errors or {"": [problem.detail]}).items():
        option = f"--{field.replace('_', '-')}: " if field else ""
        for message in messages:
            print(f"sscardctl staff create: {option}{message}", file=sys.stderr)


def cmd_staff_create(args: argparse.Namespace) -> int:
    password = args.password
    if password == READ_FROM_STDIN:  # keeps it out of the process list and shell history
        password = sys.stdin.readline().rstrip("\n")
    try:
        account_id = create_staff_account(
            config.load(),
            role=args.role,
            phone=args.phone,
            password=password,
            name=args.name,
            bank_code=args.bank_code,
        )
    except InvalidInput as problem:
        _complain(problem)
        return 2
    except AccountExists as problem:
        _complain(problem)
        return 1
    print(account_id)
    return 0


def _on_staff_account(settings: Settings, use_case, phone: str):
    """Runs one account-state use case on the registration database and commits it."""
    dependencies = deps.build(settings, pool_size=1)
    try:
        with UnitOfWork(dependencies.database, settings.service) as uow:
            result = use_case(uow, dependencies, phone=phone)
            uow.commit()  # sscardctl is the edge here
    finally:
        dependencies.database.dispose()
    return result


def _state_command(use_case, done: str):
    def run(args: argparse.Namespace) -> int:
        try:
            result = _on_staff_account(config.load(), use_case, args.phone)
        except NotFound as problem:
            print(f"sscardctl staff {args.staff_command}: {problem.detail}", file=sys.stderr)
            return 1
        if isinstance(result, tuple):  # reset-password: (account id, new password)
            account_id, password = result
            print(f"{account_id} {done}; the new password, shown only this once:")
            print(password)
        else:
            print(f"{result} {done}")
        return 0

    return run


STATE_COMMANDS = {
    "disable": (
        account_states.disable_staff,
        "disabled",
        "stop a staff account logging in; its tokens stop working within a minute",
    ),
    "enable": (account_states.enable_staff, "enabled", "let a disabled staff account log in"),
    "reset-password": (
        account_states.reset_staff_password,
        "has a new password",
        "give a staff account a new generated password, printed once; its tokens stop working",
    ),
}


def register(commands) -> None:
    """Adds `staff create|disable|enable|reset-password` to sscardctl's subcommands."""
    staff = commands.add_parser("staff", help="staff accounts of the registration service")
    actions = staff.add_subparsers(dest="staff_command", required=True)
    create = actions.add_parser(
        "create", help="create a staff account and print its id", description=__doc__
    )
    create.add_argument("--role", required=True, choices=STAFF_ROLES)
    create.add_argument("--phone", required=True, help="mainland mobile number, used to log in")
    create.add_argument(
        "--password", required=True, help=f"at least 8 characters; {READ_FROM_STDIN!r} reads stdin"
    )
    create.add_argument("--name", required=True, help="real name")
    create.add_argument("--bank-code", help="the bank of a bank_operator (and only of one)")
    create.set_defaults(run=cmd_staff_create)
    for name, (use_case, done, summary) in STATE_COMMANDS.items():
        action = actions.add_parser(name, help=summary, description=summary)
        action.add_argument("phone", help="the staff member's mobile number (their log-in)")
        action.set_defaults(run=_state_command(use_case, done))
