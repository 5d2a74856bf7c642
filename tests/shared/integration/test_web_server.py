"""The requests gunicorn turns away itself, before Flask sees them, answered by a real web process
(`python -m shared.runtime.process identity_registry web`, as deploy/Procfile starts it) with
problem+json that repeats nothing the client sent, and logged without it either."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from shared.testing.waiting import wait_until
from tests.e2e.stack import ROOT, free_port

PROBLEM = "application/problem+json"
BAD_REQUEST = "https://sscard.dev/problems/bad-request"
ID_NUMBER = "11010519491231002X"
NAME = "张三"
# What gunicorn's own page and log line would have repeated (its log line shows the name's
# UTF-8 bytes escaped, so the ID number and the query are what to look for there).
PERSONAL = (ID_NUMBER.encode(), NAME.encode(), b"id_number=")


@dataclass
class WebProcess:
    url: str
    port: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[WebProcess]:
    tmp = tmp_path_factory.mktemp("web-server")
    port = free_port()
    environ = {
        **os.environ,
        "IDENTITY_REGISTRY_PORT": str(port),
        "IDENTITY_REGISTRY_WEB_WORKERS": "1",
        "SSCARD_VAR_DIR": str(tmp / "var"),
        "LOG_FORMAT": "text",
    }
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp / "web.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.runtime.process", "identity_registry", "web"],
            env=environ,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    web = WebProcess(f"http://127.0.0.1:{port}", port, log)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the web process exited:\n{web.log_text()}")
        try:
            return requests.get(web.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(ready, timeout=30, what="the web process's /healthz")
        yield web
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class RawResponse:
    raw: bytes
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict:
        assert self.headers["content-type"] == PROBLEM
        return json.loads(self.body)


def exchange(web: WebProcess, request: bytes) -> RawResponse:
    """Sends `request` as it is and reads until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        sock.sendall(request)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(raw, int(status_line.split()[1]), headers, body)


def assert_rejected(response: RawResponse, status: int, problem_type: str, title: str) -> None:
    assert response.status == status
    assert response.headers["connection"] == "close"
    assert int(response.headers["content-length"]) == len(response.body)
    problem = response.problem()
    assert problem["type"] == problem_type
    assert problem["title"] == title
    assert problem["status"] == status
    assert problem["detail"]
    for text in PERSONAL:
        assert text not in response.raw


def test_a_request_line_with_raw_non_ascii_is_a_400_problem_that_repeats_none_of_it(web):
    request = f"GET /api/v1/progress?id_number={ID_NUMBER}&name={NAME} HTTP/1.1\r\n"
    response = exchange(web, request.encode() + b"Host: sscard\r\n\r\n")

    assert_rejected(response, 400, BAD_REQUEST, "Malformed request line")
    assert b"/api/v1/progress" not in response.raw


def test_an_invalid_header_name_is_a_400_problem_that_repeats_none_of_it(web):
    response = exchange(
        web,
        f"GET /healthz HTTP/1.1\r\nHost: sscard\r\nX-Person(name={ID_NUMBER}): 1\r\n\r\n".encode(),
    )

    assert_rejected(response, 400, BAD_REQUEST, "Malformed header name")
    assert b"X-Person" not in response.raw


def test_an_over_long_request_line_is_a_414_problem_that_repeats_none_of_it(web):
    padding = "x" * 5000  # gunicorn's limit_request_line is 4094
    request = f"GET /api/v1/progress?id_number={ID_NUMBER}&name=%E5%BC%A0&pad={padding} HTTP/1.1"
    response = exchange(web, request.encode() + b"\r\nHost: sscard\r\n\r\n")

    assert_rejected(response, 414, "about:blank", "URI Too Long")
    assert response.raw.startswith(b"HTTP/1.1 414 URI Too Long\r\n")


def test_a_bad_http_version_is_a_400_problem_that_repeats_none_of_it(web):
    request = f"GET /api/v1/progress?id_number={ID_NUMBER}&name=%E5%BC%A0 HTTX/1.1"
    response = exchange(web, request.encode() + b"\r\nHost: sscard\r\n\r\n")

    assert_rejected(response, 400, BAD_REQUEST, "Unsupported HTTP version")
    assert b"HTTX" not in response.raw


def test_rejected_requests_are_logged_by_kind_without_what_the_client_sent(web):
    request = f"GET /api/v1/progress?id_number={ID_NUMBER}&name={NAME}&probe=log HTTP/1.1\r\n"
    exchange(web, request.encode() + b"Host: sscard\r\n\r\n")

    lines = wait_until(
        lambda: [line for line in web.log_text().splitlines() if "Rejected a request" in line],
        what="the rejection's log line",
    )
    assert "400 Malformed request line (InvalidRequestLine)" in lines[-1]
    log = web.log.read_bytes()
    for text in (*PERSONAL, b"/api/v1/progress", b"probe=log"):
        assert text not in log


def test_well_formed_requests_still_reach_the_application(web):
    request = b"GET /healthz?name=%E5%BC%A0%E4%B8%89 HTTP/1.1\r\nHost: sscard\r\n\r\n"
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        sock.sendall(request * 2)  # on one kept-alive connection
        answers = sock.makefile("rb")
        for _ in range(2):
            assert answers.readline() == b"HTTP/1.1 200 OK\r\n"
            headers = dict(
                line.decode().rstrip("\r\n").lower().split(": ", 1)
                for line in iter(answers.readline, b"\r\n")
            )
            assert headers["content-type"] == "application/json"
            assert json.loads(answers.read(int(headers["content-length"])))

    assert "Using worker: shared.web.server.ProblemThreadWorker" in web.log_text()
