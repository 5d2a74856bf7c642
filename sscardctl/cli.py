"""`sscardctl` — operate an sscard deployment. Reads the same environment variables as the
services. Exit codes: 0 done, 1 failed (a service unreachable, a conflict), 2 bad arguments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from shared.config import SERVICES, load_settings
from shared.messaging.broker_admin import BrokerAdminError
from shared.messaging.permissions import InvalidBankCode
from sscardctl import operations, staff


class CommandFailed(Exception):
    """A clear, one-line reason the command could not do its job."""


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.db.migrations import upgrade

    for service in args.service or SERVICES:
        upgrade(load_settings(service))
        print(f"{service}: database at the newest schema")
    return 0


def cmd_dlq_list(args: argparse.Namespace) -> int:
    letters = operations.dead_letters(args.service)
    if not letters:
        print("no parked messages")
        return 0
    for letter in letters:
        print(
            f"{letter.message_id}  {letter.service:<12} {letter.event_type or '?':<28} "
            f"{letter.kind:<18} {letter.failed_at or '':<24} {letter.error}"
        )
    print(f"{len(letters)} parked message(s)")
    return 0


def cmd_dlq_replay(args: argparse.Namespace) -> int:
    if bool(args.all) == bool(args.message_id):
        args.parser.error("give either a MESSAGE_ID or --all")
    replayed = operations.replay_dead_letters(None if args.all else args.message_id, args.service)
    if not replayed and not args.all:
        raise CommandFailed(f"no parked message with id {args.message_id}")
    for letter in replayed:
        print(f"replayed {letter.message_id} ({letter.event_type}) → {letter.original_queue}")
    print(f"{len(replayed)} message(s) replayed")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    entries, unreachable = operations.trace(args.application_id)
    for entry in entries:
        detail = operations.summarise(entry)
        when, service, kind, kind_type = entry["at"], entry["service"], entry["kind"], entry["type"]
        print(f"{when:<30} {service:<12} {kind:<9} {kind_type:<28} {detail}")
    if not entries:
        print(f"nothing recorded for {args.application_id}")
    if unreachable:
        raise CommandFailed("could not reach: " + ", ".join(unreachable))
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """registration: the token signing keys (the previous keys stay in the JWKS, the newest
    REGISTRATION_JWT_KEEP_PREVIOUS_KEYS of them); printing: the print signing key (a replaced
    key stays published at /api/v1/print-signing-key for PRINTING_PRINT_KEY_OVERLAP_DAYS).
    Run it where the service's key directory is (its volume, under compose)."""
    settings = load_settings(args.service)
    if args.service == "printing":
        from services.printing.adapters.signing_keys import print_signing_keys

        ring = print_signing_keys(settings)
        key = ring.rotate()
        overlap = f"{ring.overlap.days} days" if ring.overlap else "a while"
        print(
            f"printing: now signing print messages with key {key.kid}; the previous key stays "
            f"published for banks to verify with for {overlap}"
        )
        return 0
    from services.registration.adapters.signing_keys import signing_keys

    key = signing_keys(settings).rotate()
    print(f"{args.service}: now signing with key {key.kid}; the previous keys still verify")
    return 0


def cmd_broker_setup(args: argparse.Namespace) -> int:
    from sscardctl import broker

    credentials = broker.setup()
    for credential in credentials:
        print(f"{credential.name}: broker user {credential.user}, its own permissions only")
    if args.env_file:
        broker.write_env_file(Path(args.env_file), credentials)
        print(f"wrote each process's broker URL to {args.env_file}")
    return 0


def cmd_broker_demo_banks(args: argparse.Namespace) -> int:
    from sscardctl import broker

    credentials = broker.demo_banks()
    for credential in credentials:
        print(f"{credential.name}: broker user {credential.user} (demo bank)")
    if args.env_file:
        broker.write_env_file(Path(args.env_file), credentials)
        print(f"wrote the simulator's bank URLs to {args.env_file}")
    return 0


def cmd_banks_onboard(args: argparse.Namespace) -> int:
    from sscardctl import broker

    credential, password = broker.onboard_bank(args.bank_code)
    print(f"broker user: {credential.user}")
    print(f"password:    {password}")
    print(f"may read:    queue print.{args.bank_code} (nothing else)")
    print(
        f"may publish: exchange sscard.bank-feedback, routing keys bank.{args.bank_code}.<status>"
    )
    print("The password is shown only this once: hand it to the bank over a secure channel.")
    return 0


def cmd_banks_offboard(args: argparse.Namespace) -> int:
    from sscardctl import broker

    if not broker.offboard_bank(args.bank_code):
        raise CommandFailed(f"bank {args.bank_code} has no broker user")
    print(f"removed the broker user of bank {args.bank_code} and closed its connections")
    return 0


def cmd_tls_self_signed(args: argparse.Namespace) -> int:
    from sscardctl.tls import self_signed

    hosts = args.host or ["localhost", "rabbitmq"]
    for path in self_signed(Path(args.directory), hosts, days=args.days):
        print(f"wrote {path}")
    print("for a trial only: give banks ca_certificate.pem; production uses your own CA")
    return 0


def cmd_seed(_args: argparse.Namespace) -> int:
    from sscardctl.seed import run_seed

    run_seed()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sscardctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="bring service databases to the newest schema")
    migrate.add_argument("--service", action="append", choices=SERVICES)
    migrate.set_defaults(run=cmd_migrate)

    trace = commands.add_parser("trace", help="one application's story across all services")
    trace.add_argument("application_id")
    trace.set_defaults(run=cmd_trace)

    dlq = commands.add_parser("dlq", help="dead-letter queues").add_subparsers(
        dest="dlq_command", required=True
    )
    dlq_list = dlq.add_parser("list", help="list parked messages and why they were parked")
    dlq_list.add_argument("--service", choices=SERVICES)
    dlq_list.set_defaults(run=cmd_dlq_list)
    dlq_replay = dlq.add_parser("replay", help="send parked messages back to their queue")
    dlq_replay.add_argument("message_id", nargs="?")
    dlq_replay.add_argument("--all", action="store_true", help="every parked message")
    dlq_replay.add_argument("--service", choices=SERVICES)
    dlq_replay.set_defaults(run=cmd_dlq_replay, parser=dlq_replay)

    seed = commands.add_parser(
        "seed", help="demo banks, outlets, registry people, their phones and staff"
    )
    seed.set_defaults(run=cmd_seed)
    staff.register(commands)
    _register_broker(commands)
    keys = commands.add_parser("keys", help="token and print signing keys")
    key_actions = keys.add_subparsers(dest="keys_command", required=True)
    rotate = key_actions.add_parser(
        "rotate",
        help="sign with a new key; what the old one signed still verifies for an overlap",
        description=cmd_keys_rotate.__doc__,
    )
    rotate.add_argument("--service", required=True, choices=("registration", "printing"))
    rotate.set_defaults(run=cmd_keys_rotate)
    return parser


def _register_broker(commands) -> None:
    broker = commands.add_parser("broker", help="the broker's users and topology")
    actions = broker.add_subparsers(dest="broker_command", required=True)
    setup = actions.add_parser(
        "setup", help="declare the topology; one broker user per service, with its own rights"
    )
    setup.add_argument("--env-file", help="write each process's <SERVICE>_AMQP_URL here")
    setup.set_defaults(run=cmd_broker_setup)
    demo = actions.add_parser("demo-banks", help="broker users for the demo partner banks")
    demo.add_argument("--env-file", help="write PARTNER_BANK_AMQP_URL_<CODE> lines here")
    demo.set_defaults(run=cmd_broker_demo_banks)

    banks = commands.add_parser("banks", help="partner banks' broker users")
    bank_actions = banks.add_subparsers(dest="banks_command", required=True)
    onboard = bank_actions.add_parser(
        "onboard", help="create the bank's broker user; prints its password once"
    )
    onboard.add_argument("bank_code")
    onboard.set_defaults(run=cmd_banks_onboard)
    offboard = bank_actions.add_parser(
        "offboard", help="remove the bank's broker user and close its connections"
    )
    offboard.add_argument("bank_code")
    offboard.set_defaults(run=cmd_banks_offboard)

    tls = commands.add_parser("tls", help="certificates for the broker's AMQPS listener")
    tls_actions = tls.add_subparsers(dest="tls_command", required=True)
    self_signed = tls_actions.add_parser(
        "self-signed", help="a private CA and a server certificate, for a trial"
    )
    self_signed.add_argument("directory")
    self_signed.add_argument(
        "--host",
        action="append",
        help="a name or address banks connect to (repeatable; default: localhost, rabbitmq)",
    )
    self_signed.add_argument("--days", type=int, default=365)
    self_signed.set_defaults(run=cmd_tls_self_signed)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CommandFailed as exc:
        print(f"sscardctl: {exc}", file=sys.stderr)
        return 1
    except operations.Unreachable as exc:
        print(f"sscardctl: {exc}", file=sys.stderr)
        return 1
    except (BrokerAdminError, InvalidBankCode) as exc:
        print(f"sscardctl: {exc}", file=sys.stderr)
        return 1
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        print(
            f"sscardctl: database error: {reason} (has `sscardctl migrate` run?)", file=sys.stderr
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
