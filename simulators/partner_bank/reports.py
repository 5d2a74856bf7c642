"""What the bank sends back: `bank.card_status` CloudEvents on `sscard.bank-feedback`, routing
key `bank.<bank_code>.<status>`."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime

FEEDBACK_EXCHANGE = "sscard.bank-feedback"
REPORT_TYPE = "bank.card_status"
REPORT_SCHEMA = "urn:sscard:bank.card_status:v1"
CLOUDEVENTS_JSON = "application/cloudevents+json"
# A resent report (after a crash, say) keeps its id, so sscard recognises it as the same one.
REPORT_ID_NAMESPACE = uuid.UUID("6f1d7c1e-2f0b-4a53-9d2e-5b7a1c3e8f40")

# Issuer identification numbers of the banks' UnionPay debit cards (62…).
CARD_BINS = {"ICBC": "622202", "CCB": "621700", "BOC": "621661", "ABC": "622848"}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def routing_key(bank_code: str, status: str) -> str:
    return f"bank.{bank_code}.{status}"


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, character in enumerate(reversed(body)):
        value = int(character)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def new_account_number(bank_code: str) -> str:
    """A 19-digit UnionPay debit account number with a valid Luhn digit."""
    body = CARD_BINS.get(bank_code, "62" + "".join(random.choices("0123456789", k=4)))
    body += "".join(random.choices("0123456789", k=18 - len(body)))
    return body + luhn_check_digit(body)


def masked(account_number: str) -> str:
    """Never send or keep the full number: first 6, last 4."""
    return account_number[:6] + "*" * (len(account_number) - 10) + account_number[-4:]


def status_report(
    *,
    bank_code: str,
    card_id: str,
    card_serial: str | None,
    status: str,
    reason: str | None = None,
    bank_account_masked: str | None = None,
    print_message: dict | None = None,
) -> dict:
    data: dict = {"card_id": card_id, "status": status, "occurred_at": now()}
    if card_serial:
        data["card_serial"] = card_serial
    if reason:
        data["reason"] = reason
    if bank_account_masked:
        data["bank_account_masked"] = bank_account_masked
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(REPORT_ID_NAMESPACE, f"{bank_code}/{card_id}/{card_serial}/{status}")),
        "source": f"/banks/{bank_code}",
        "type": REPORT_TYPE,
        "time": now(),
        "subject": card_id,
        "datacontenttype": "application/json",
        "dataschema": REPORT_SCHEMA,
        "data": data,
    }
    if print_message:
        # Keeps the application's story traceable across sscard and the bank.
        if print_message.get("correlationid"):
            event["correlationid"] = print_message["correlationid"]
        if print_message.get("id"):
            event["causationid"] = print_message["id"]
    return event


def encode(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
