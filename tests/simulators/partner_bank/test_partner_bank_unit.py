"""The simulator on its own: it depends on nothing of sscard's code, computes the same
canonical bytes as the printing service, and makes valid masked UnionPay numbers."""

from __future__ import annotations

import ast
import base64
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.printing.domain.print_message import canonical_json
from simulators.partner_bank import reports
from simulators.partner_bank.settings import BankSettings
from simulators.partner_bank.signatures import canonical_bytes, signature_is_valid

PACKAGE = Path(__file__).resolve().parents[3] / "simulators" / "partner_bank"
ALLOWED_TOP_LEVEL = {"pika", "cryptography", "requests", "simulators"}


def test_it_imports_nothing_from_sscard_but_itself():
    import sys

    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED_TOP_LEVEL or top in sys.stdlib_module_names, (path, name)
                if top == "simulators":
                    assert name.startswith("simulators.partner_bank"), (path, name)


def test_its_canonical_bytes_are_the_printing_services():
    data = {"name": "张三", "photo": {"sha256": "ab", "data_base64": "AA=="}, "b": 'q"\n'}
    assert canonical_bytes(data) == canonical_json(data)


def test_it_accepts_a_good_signature_and_refuses_a_bad_one():
    key = Ed25519PrivateKey.generate()
    data = {"card_id": "c", "name": "李四"}
    signature = base64.b64encode(key.sign(canonical_bytes(data))).decode()
    assert signature_is_valid(key.public_key(), data, signature)
    assert not signature_is_valid(key.public_key(), {**data, "name": "李五"}, signature)
    assert not signature_is_valid(key.public_key(), data, "%%%")


def test_account_numbers_are_luhn_valid_unionpay_and_only_ever_sent_masked():
    from services.printing.domain.bank_accounts import luhn_valid

    for _ in range(50):
        number = reports.new_account_number("CCB")
        assert number.startswith("621700") and len(number) == 19
        assert luhn_valid(number)
        shown = reports.masked(number)
        assert shown[:6] == number[:6] and shown[-4:] == number[-4:]
        assert set(shown[6:-4]) == {"*"}


def test_a_resent_report_keeps_its_id():
    first = reports.status_report(
        bank_code="ICBC", card_id="c", card_serial="A12345678", status="printed"
    )
    again = reports.status_report(
        bank_code="ICBC", card_id="c", card_serial="A12345678", status="printed"
    )
    assert first["id"] == again["id"]
    assert first["source"] == "/banks/ICBC"
    assert first["dataschema"] == "urn:sscard:bank.card_status:v1"


def test_settings_come_from_the_environment():
    settings = BankSettings.from_environment(
        {
            "PARTNER_BANK_STEP_DELAY_SECONDS": "0.5",
            "PARTNER_BANK_FAILURE_RATE": "0.1",
            "PARTNER_BANK_CODES": "ICBC, CCB",
            "PRINTING_URL": "http://p:1/",
        }
    )
    assert settings.step_delay_seconds == 0.5 and settings.failure_rate == 0.1
    assert settings.bank_codes == ("ICBC", "CCB")
    assert settings.printing_url == "http://p:1"
    assert BankSettings.from_environment({}).port == 8011
