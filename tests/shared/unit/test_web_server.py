"""The web worker's answer to every error gunicorn hands it: gunicorn's status, problem+json,
and nothing from the request in the answer or the log line."""

from __future__ import annotations

import json
import socket
from ssl import SSLError
from types import SimpleNamespace

import pytest
from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.base import Worker

from shared.web.server import ProblemThreadWorker

SECRET = "/api/v1/progress?id_number=11010519491231002X&name=张三"

# Every exception gunicorn 27's Worker.handle_error tells apart, each carrying what a client
# sent, and two that are not the client's fault.
ERRORS = [
    errors.InvalidRequestLine(SECRET),
    errors.InvalidRequestMethod(SECRET),
    errors.InvalidHTTPVersion(SECRET),
    errors.UnsupportedTransferCoding(SECRET),
    errors.ConfigurationProblem(SECRET),
    errors.ObsoleteFolding(SECRET),
    errors.InvalidHeaderName(SECRET),
    errors.InvalidHeader(SECRET),
    errors.LimitRequestLine(SECRET),
    errors.ExpectationFailed(SECRET),
    errors.LimitRequestHeaders(SECRET),
    errors.InvalidProxyLine(SECRET),
    errors.ForbiddenProxyRequest(SECRET),
    errors.InvalidSchemeHeaders(),
    errors.InvalidChunkSize(SECRET),
    errors.ChunkMissingTerminator(SECRET),
    errors.InvalidChunkExtension(SECRET),
    errors.InvalidH2CPreface(SECRET),
    SSLError(SECRET),
    errors.InvalidResponseHeader(SECRET),
    errors.InvalidResponseHeaderName(SECRET),
    RuntimeError(SECRET),
]


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, level: str):
        return lambda message, *args, **_: self.lines.append((level, message % args))


def handle(handle_error, exc: BaseException, req=None) -> tuple[bytes, RecordingLog]:
    """Runs a worker's handle_error as gthread does (inside the `except`), on a socket pair."""
    worker = SimpleNamespace(log=RecordingLog(), cfg=None)
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        try:
            raise exc
        except BaseException as raised:
            handle_error(worker, req, server_side, ("127.0.0.1", 40000), raised)
        server_side.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := client_side.recv(65536):
            raw += chunk
    return raw, worker.log


def gunicorns_status(exc: BaseException, monkeypatch) -> int:
    written = []
    monkeypatch.setattr(util, "write_error", lambda _sock, status, *_: written.append(status))
    handle(Worker.handle_error, exc)
    return written[0]


@pytest.mark.parametrize("exc", ERRORS, ids=lambda exc: type(exc).__name__)
def test_every_error_keeps_gunicorns_status_and_repeats_nothing_the_client_sent(exc, monkeypatch):
    raw, log = handle(ProblemThreadWorker.handle_error, exc)

    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    problem = json.loads(body)
    assert int(status_line.split()[1]) == problem["status"] == gunicorns_status(exc, monkeypatch)
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    assert headers["connection"] == "close"
    assert set(problem) == {"type", "title", "status", "detail"}
    assert "11010519491231002X" not in raw.decode()
    assert not [line for line in log.lines if "11010519491231002X" in line[1]]


def test_an_unexpected_error_is_a_500_problem_and_logged_with_the_path_but_not_the_query():
    request = SimpleNamespace(method="GET", path="/api/v1/progress", uri=SECRET)

    raw, log = handle(ProblemThreadWorker.handle_error, ValueError("oops"), req=request)

    assert raw.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    problem = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert problem == {
        "type": "about:blank",
        "title": "Internal server error",
        "status": 500,
        "detail": "Something went wrong on our side; it has been logged.",
    }
    assert b"oops" not in raw
    assert b"Traceback" not in raw
    assert log.lines == [("exception", "Error handling request GET /api/v1/progress")]
