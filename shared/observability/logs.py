"""JSON logs that carry the service, the request, the correlation and the event being handled,
and never a full resident ID number."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.personal_data.protection import mask_id_number

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "sscard_log_context", default=None
)


def current_log_context() -> dict[str, str]:
    return _context.get() or {}


# 18 characters: 17 digits and a digit or X check character, not inside a longer number or a
# UUID. Masking a log line that merely looks like an ID number costs nothing; leaking one does.
ID_NUMBER_PATTERN = re.compile(r"(?<![0-9A-Za-z-])(\d{17}[\dXx])(?![0-9A-Za-z-])")


_RUN = 17  # an ID number starts with 17 digits


def has_digit_run(text: str) -> bool:
    """Whether `text` holds 17 consecutive decimal digits (what `\\d{17}` finds), cheaply.

    Every log line passes here and nearly none holds such a run. A regular expression tries a
    match at every position (11 µs for an access log line); this looks at every 17th character,
    since a run of 17 must cover one of them, and measures the run only around a digit."""
    length = len(text)
    probe = _RUN - 1
    while probe < length:
        if not text[probe].isdecimal():
            probe += _RUN
            continue
        start = probe
        while start > 0 and text[start - 1].isdecimal():
            start -= 1
        end = probe + 1
        while end < length and text[end].isdecimal():
            end += 1
        if end - start >= _RUN:
            return True
        # text[end] is not a digit: a run after it covers end + 16 or a probe past it.
        probe = end + _RUN
    return False


def mask_id_numbers(text: str) -> str:
    if not has_digit_run(text):
        return text
    return ID_NUMBER_PATTERN.sub(lambda m: mask_id_number(m.group(1)), text)


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Adds fields (request_id, correlation_id, event_id, …) to every log line inside."""
    merged = {**current_log_context(), **{k: v for k, v in values.items() if v}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def set_log_context(**values: str) -> contextvars.Token:
    """Replaces the context (a request's ids, at its start); `reset_log_context` undoes it."""
    return _context.set(values)


def reset_log_context(token: contextvars.Token) -> None:
    _context.reset(token)


class ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.context = current_log_context()
        return True


_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "service",
    "context",
    "asctime",
}


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


# Both formatters mask ID numbers once, in the finished line: that covers the message, its
# arguments, extra fields and exception text alike.
class JsonFormatter(logging.Formatter):
    _second: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        """RFC 3339 UTC to the millisecond; the part up to the second is reused within it."""
        second = int(created)
        cached = self._second
        if cached[0] != second:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = cached = (second, text)
        return f"{cached[1]}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        context = getattr(record, "context", None) or {}
        service = getattr(record, "service", None)
        plain = (
            (service is None or type(service) is str)
            and not record.exc_info
            and not record.exc_text
            # Extra fields are rare: the set difference finds them without a Python-level
            # pass over the two dozen attributes every record has.
            and not vars(record).keys() - _RESERVED
            and _plain_context(context)
        )
        if plain:
            return mask_id_numbers(self._plain_line(record, service, context))
        return mask_id_numbers(_ENCODER.encode(self._entry(record, context)))

    def _entry(self, record: logging.LogRecord, context: dict) -> dict:
        entry = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "service": getattr(record, "service", None),
            "logger": record.name,
            "message": record.getMessage(),
            **context,
        }
        for key in sorted(vars(record).keys() - _RESERVED):
            if not key.startswith("_"):
                entry[key] = getattr(record, key)
        exception = _exception_text(self, record)
        if exception:
            entry["exception"] = exception
        return entry

    def _plain_line(self, record: logging.LogRecord, service: str | None, context: dict) -> str:
        """The line `_entry` would encode, for the usual record (string fields only), written
        out directly: building the dict and running the encoder over it cost several times
        this."""
        return _json_line(
            self._time(record.created),
            record.levelname.lower(),
            service,
            record.name,
            record.getMessage(),
            context,
        )


def _json_line(
    at: str, level: str, service: str | None, logger: str, message: str, context: dict
) -> str:
    parts = [
        '{"time": "',
        at,
        '", "level": ',
        _quote(level),
        ', "service": ',
        "null" if service is None else _quote(service),
        ', "logger": ',
        _quote(logger),
        ', "message": ',
        _quote(message),
    ]
    for key, value in context.items():
        parts += (", ", _quote(key), ": ", _quote(value))
    parts.append("}")
    return "".join(parts)


# What json.dumps(ensure_ascii=False) writes for a string (the same C function), and an
# encoder made once rather than per line.
_quote = json.encoder.encode_basestring
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_BASE_FIELDS = frozenset(("time", "level", "service", "logger", "message"))


def _plain_context(context: dict) -> bool:
    """Whether `_json_line` writes these context fields as the encoder would: strings only,
    none of them named like a field every line has."""
    return not context.keys() & _BASE_FIELDS and all(type(v) is str for v in context.values())


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{k}={v}" for k, v in getattr(record, "context", {}).items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        if context:
            line += f"  [{context}]"
        exception = _exception_text(self, record)
        if exception:
            line += "\n" + exception
        return mask_id_numbers(line)


@dataclass(frozen=True)
class _JsonOutput:
    handler: logging.StreamHandler
    formatter: JsonFormatter
    service: str


# The JSON stream configure_logging set up in this process, for log_info_line.
_json_output: _JsonOutput | None = None


def log_info_line(logger: logging.Logger, message: str) -> None:
    """`logger.info(message)`, for a line logged on every request (the access line).

    When the process logs as configure_logging set it up (JSON lines to one stream), the line
    is written straight to that stream: the same line, masked the same way, under the
    handler's lock, without the record, filter and handler calls between (two thirds of the
    line's cost on a busy endpoint). Any other set-up (text lines, a test's capturing
    handler, a logger turned down or off) takes the ordinary way."""
    output = _json_output
    root = logging.root
    context = current_log_context()
    if (
        output is None
        or len(root.handlers) != 1
        or root.handlers[0] is not output.handler
        or output.handler.level > logging.INFO
        or logger.handlers
        or not logger.propagate
        or not logger.isEnabledFor(logging.INFO)
        or not _plain_context(context)
    ):
        logger.info("%s", message)
        return
    line = _json_line(
        output.formatter._time(time.time()), "info", output.service, logger.name, message, context
    )
    handler = output.handler
    handler.acquire()
    try:
        handler.stream.write(mask_id_numbers(line) + handler.terminator)
        handler.stream.flush()
    except RecursionError:
        raise
    except Exception:  # as StreamHandler.emit: a log line that cannot be written fails no request
        handler.handleError(logging.makeLogRecord({"name": logger.name, "msg": message}))
    finally:
        handler.release()


def configure_logging(service: str, *, level: str = "INFO", json_lines: bool = True) -> None:
    """Root logging for one process: one stream handler, personal data masked."""
    global _json_output
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(ContextFilter(service))
    formatter: logging.Formatter
    if json_lines:
        formatter = JsonFormatter()
        _json_output = _JsonOutput(handler, formatter, service)
    else:
        formatter = TextFormatter()
        _json_output = None
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # No sscard line shows the calling function or thread, so records need not collect them
    # (the settings the logging HOWTO's "Optimization" section names). The process id stays:
    # gunicorn's own lines show it.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    # pika narrates every frame at INFO; its warnings and errors are what operators need.
    logging.getLogger("pika").setLevel(logging.WARNING)
