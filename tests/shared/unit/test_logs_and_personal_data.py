from __future__ import annotations

import io
import json
import logging
import os
import random
import re
import sys

import pytest

from shared.observability.logs import (
    JsonFormatter,
    configure_logging,
    has_digit_run,
    log_context,
    log_info_line,
    mask_id_numbers,
)
from shared.personal_data.protection import FieldCipher, FileCipher, mask_id_number, mask_phone

ID_NUMBER = "11010519491231002X"


def test_masking_keeps_the_first_six_and_last_four():
    assert mask_id_number(ID_NUMBER) == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"


def test_id_numbers_are_masked_anywhere_in_a_line_but_uuids_and_long_numbers_are_left():
    line = f"id={ID_NUMBER}, other 440524188001010014; uuid 6f1c1a3e-9c1b-4d8e-9a7b-1f2e3d4c5b6a"
    masked = mask_id_numbers(line)
    assert ID_NUMBER not in masked and "440524188001010014" not in masked
    assert "110105********002X" in masked
    assert "6f1c1a3e-9c1b-4d8e-9a7b-1f2e3d4c5b6a" in masked
    assert mask_id_numbers("order 1234567890123456789012") == "order 1234567890123456789012"


def test_the_quick_digit_run_check_finds_exactly_what_the_pattern_finds():
    # Runs of every length near 17, at every offset, of ASCII and full-width digits, between
    # letters, hyphens and other digits' neighbours: the check skips ahead, so boundaries matter.
    alphabet = "0123456789０１２３４５６７８９a-X ²"
    rng = random.Random(17)
    pattern = re.compile(r"\d{17}")
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        digits = "".join(rng.choice("0123456789０９") for _ in range(rng.randrange(14, 20)))
        cut = rng.randrange(len(text) + 1)
        for candidate in (text, text[:cut] + digits + text[cut:]):
            assert has_digit_run(candidate) == bool(pattern.search(candidate)), candidate


@pytest.fixture
def captured_json_log(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    configure_logging("unit", json_lines=True)
    yield stream
    logging.getLogger().handlers.clear()


def test_log_lines_are_json_with_context_and_never_a_full_id_number(captured_json_log):
    log = logging.getLogger("unit.test")
    with log_context(correlation_id="app-1", event_id="evt-1"):
        log.info("checking %s", ID_NUMBER, extra={"id_number": ID_NUMBER})
        try:
            raise ValueError(f"bad {ID_NUMBER}")
        except ValueError:
            log.exception("failed")
    lines = [json.loads(line) for line in captured_json_log.getvalue().splitlines()]
    assert lines[0]["service"] == "unit"
    assert lines[0]["correlation_id"] == "app-1" and lines[0]["event_id"] == "evt-1"
    assert ID_NUMBER not in captured_json_log.getvalue()
    assert "110105********002X" in lines[0]["message"]
    assert "ValueError" in lines[1]["exception"]


def test_a_plain_record_is_written_out_exactly_as_the_encoder_writes_it(monkeypatch):
    # The access line's short way must give the same line as the encoder, byte for byte:
    # quotes, backslashes, control characters, non-ASCII text, ID numbers, odd contexts.
    formatter = JsonFormatter()
    written_out = []
    plain_line = formatter._plain_line
    monkeypatch.setattr(
        formatter, "_plain_line", lambda *a: written_out.append(1) or plain_line(*a)
    )
    alphabet = 'aZ09 "\\/\n\t\x00\x1f\x7f王芳²０é\u2028😀{}:,%'
    rng = random.Random(9457)

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))

    for _ in range(3_000):
        message = text() + (ID_NUMBER if rng.random() < 0.2 else "")
        record = logging.LogRecord(text() or "x", logging.INFO, "", 0, message, (), None)
        if rng.random() < 0.8:
            record.service = text()
        record.context = {text(): text() for _ in range(rng.randrange(4))}
        if rng.random() < 0.1:
            record.context["request_id"] = rng.choice([7, None])  # not a string: the long way
        if rng.random() < 0.05:
            record.context["time"] = text()  # a context key that is a base field
        line = formatter.format(record)
        expected = mask_id_numbers(
            json.dumps(formatter._entry(record, record.context), ensure_ascii=False, default=str)
        )
        assert line == expected, record.__dict__
    assert len(written_out) > 2_000  # most records took the short way


def test_records_with_extra_fields_or_an_exception_keep_them():
    formatter = JsonFormatter()
    record = logging.LogRecord("unit", logging.ERROR, "", 0, "failed", (), None)
    record.service, record.context, record.attempt = "unit", {"event_id": "evt-1"}, 3
    assert json.loads(formatter.format(record))["attempt"] == 3
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord("unit", logging.ERROR, "", 0, "failed", (), sys.exc_info())
    assert "ValueError" in json.loads(formatter.format(record))["exception"]


def test_a_line_logged_the_short_way_is_the_line_logger_info_writes(captured_json_log, monkeypatch):
    log = logging.getLogger("sscard.access")
    ours = logging.getLogger().handlers[0]
    # Only the handler configure_logging made, as in a service (pytest adds its own).
    monkeypatch.setattr(logging.getLogger(), "handlers", [ours])
    records = []
    ours.addFilter(lambda record: records.append(record) or True)
    message = f'GET /api/v1/"{ID_NUMBER}"\\x 200 1.2ms 王芳'
    with log_context(request_id="req-1", correlation_id="corr-1"):
        log_info_line(log, message)
        assert records == []  # no record, filter or handler call: written straight out
        log.info("%s", message)
        assert len(records) == 1
    short, ordinary = captured_json_log.getvalue().splitlines()
    assert ID_NUMBER not in short
    assert json.loads(short).pop("time") and json.loads(ordinary).pop("time")
    assert re.sub('"time": "[^"]*"', "", short) == re.sub('"time": "[^"]*"', "", ordinary)


def test_a_line_logged_the_short_way_respects_levels_and_other_set_ups(
    captured_json_log, caplog, monkeypatch
):
    log = logging.getLogger("sscard.access")
    ours = logging.getLogger().handlers[0]
    with monkeypatch.context() as patch:
        patch.setattr(logging.getLogger(), "handlers", [ours])
        log.setLevel(logging.WARNING)
        try:
            log_info_line(log, "not wanted")
        finally:
            log.setLevel(logging.NOTSET)
    assert captured_json_log.getvalue() == ""
    # Another handler on the root (here pytest's) means the ordinary way, which it sees.
    with caplog.at_level(logging.INFO, logger="sscard.access"):
        log_info_line(log, "seen by the test")
    assert [record.getMessage() for record in caplog.records] == ["seen by the test"]


def test_records_still_carry_the_process_id_that_gunicorn_lines_show(captured_json_log):
    record = logging.LogRecord("gunicorn.error", logging.INFO, "", 0, "Worker exiting", (), None)
    gunicorn_style = logging.Formatter("[%(process)d] [%(levelname)s] %(message)s")
    assert gunicorn_style.format(record) == f"[{os.getpid()}] [INFO] Worker exiting"


def test_field_encryption_round_trips_and_is_bound_to_its_column():
    cipher = FieldCipher(b"k" * 32)
    token = cipher.encrypt(ID_NUMBER, column="accounts.id_number")
    assert ID_NUMBER not in token
    assert cipher.encrypt(ID_NUMBER, column="accounts.id_number") != token  # random nonce
    assert cipher.decrypt(token, column="accounts.id_number") == ID_NUMBER
    with pytest.raises(Exception):  # noqa: B017 — cryptography raises InvalidTag
        cipher.decrypt(token, column="other.column")


def test_blind_index_is_deterministic_keyed_and_column_scoped():
    one, other = FieldCipher(b"k" * 32), FieldCipher(b"j" * 32)
    index = one.blind_index(ID_NUMBER, column="accounts.id_number")
    assert index == one.blind_index(ID_NUMBER, column="accounts.id_number")
    assert index != other.blind_index(ID_NUMBER, column="accounts.id_number")
    assert index != one.blind_index(ID_NUMBER, column="cases.id_number")
    # Indexes already stored must still be found: the value is pinned, not just stable.
    assert index == "ee45efd2ddc1d86658b8f3a724fe1a02be75d54110233abbedd9bf513452512d"


@pytest.mark.parametrize("cipher", [FieldCipher, FileCipher])
def test_ciphers_refuse_a_master_key_that_is_not_32_bytes(cipher):
    with pytest.raises(ValueError, match="32 bytes"):
        cipher(b"k" * 16)
