"""`sscardctl` — operate an sscard deployment. Reads the same environment variables as the
services. Exit codes: 0 done, 1 failed, 2 bad arguments."""

from __future__ import annotations

import argparse
import sys

from shared.config import SERVICES, load_settings
from sscardctl import staff


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.migrations import upgrade

    for service in args.service or SERVICES:
        upgrade(load_settings(service))
        print(f"{service}: database at the newest schema")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from services.registration.tokens import signing_keys

    key = signing_keys(load_settings(args.service)).rotate()
    print(f"{args.service}: now signing with key {key.kid}; the previous keys still verify")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sscardctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    migrate = commands.add_parser("migrate", help="bring service databases to the newest schema")
    migrate.add_argument("--service", action="append", choices=SERVICES)
    migrate.set_defaults(run=cmd_migrate)
    staff.register(commands)
    keys = commands.add_parser("keys", help="token signing keys")
    key_actions = keys.add_subparsers(dest="keys_command", required=True)
    rotate = key_actions.add_parser("rotate", help="sign with a new key; older tokens stay valid")
    rotate.add_argument("--service", required=True, choices=("registration",))
    rotate.set_defaults(run=cmd_keys_rotate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
