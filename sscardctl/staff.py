"""`sscardctl staff create`: staff accounts (reviewer, bank operator, integrator, admin), made by
an operator directly on the registration service's own database. The public API only ever
makes citizens; this is the one way in for staff."""

from __future__ import annotations

import argparse
import sys

from services.registration import config, models
from services.registration.dao import dao_create_account
from services.registration.domain.accounts import STAFF_ROLES, AccountExists, create_staff
from services.registration.domain.passwords import Passwords
from shared.config import Settings
from shared.errors import InvalidInput
from shared.pii import FieldCipher
from shared.uow import Database, UnitOfWork

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
    options = config.options(settings)
    passwords = Passwords(
        time_cost=options.argon2_time_cost,
        memory_kib=options.argon2_memory_kib,
        parallelism=options.argon2_parallelism,
    )
    account = create_staff(
        role=role,
        phone=phone,
        password=password,
        name=name,
        bank_code=bank_code,
        passwords=passwords,
    )
    database = Database(settings.database_url, models.metadata, pool_size=1)
    try:
        with UnitOfWork(database, settings.service) as uow:
            dao_create_account(uow.session, account, FieldCipher(settings.pii_key()))
            uow.commit()
    finally:
        database.dispose()
    return account.account_id


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


def register(commands) -> None:
    """Adds `staff create` to sscardctl's subcommands."""
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
