"""The gunicorn worker every web process runs: gunicorn's gthread worker, except that a request
gunicorn rejects itself (one it cannot parse, or too large) is answered with problem+json like
every other error, and neither that answer nor the log line repeats what the client sent; a
progress look-up's query string carries a resident ID number and a name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from ssl import SSLError

from gunicorn import util

# types-gunicorn (26.2) predates gunicorn 27's InvalidResponseHeader and InvalidResponseHeaderName.
from gunicorn.http.errors import (  # type: ignore[attr-defined]
    ChunkMissingTerminator,
    ConfigurationProblem,
    ExpectationFailed,
    ForbiddenProxyRequest,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidH2CPreface,
    InvalidHeader,
    InvalidHeaderName,
    InvalidHTTPVersion,
    InvalidProxyLine,
    InvalidRequestLine,
    InvalidRequestMethod,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    InvalidSchemeHeaders,
    LimitRequestHeaders,
    LimitRequestLine,
    ObsoleteFolding,
    UnsupportedTransferCoding,
)
from gunicorn.workers.gthread import ThreadWorker

# RFC 9110's reason phrases for the statuses below (Python 3.11's HTTPStatus still says
# "Request-URI Too Long").
REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}


@dataclass(frozen=True)
class Rejection:
    """What a client is told about one kind of request gunicorn turns away: fixed text, so
    nothing the client sent can come back in it."""

    status: int
    title: str
    detail: str


# As Flask's answer to an unexpected error (shared/web/problems.py), which this also is.
SERVER_ERROR = Rejection(
    500, "Internal server error", "Something went wrong on our side; it has been logged."
)

# gunicorn's own kinds of client error and the status it gives each (Worker.handle_error in
# gunicorn 27), in its order: the first match wins. Titles of statuses without an sscard
# problem type are the HTTP reason phrase, as RFC 9457 asks of about:blank.
REJECTIONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Rejection], ...] = (
    (
        InvalidRequestLine,
        Rejection(
            400,
            "Malformed request line",
            "The request line is not valid HTTP/1.1. Send it in ASCII, with any other "
            "character in the target percent-encoded as UTF-8.",
        ),
    ),
    (
        InvalidRequestMethod,
        Rejection(400, "Malformed request method", "The request method is not a valid token."),
    ),
    (
        InvalidHTTPVersion,
        Rejection(
            400,
            "Unsupported HTTP version",
            "The request's HTTP version is malformed or not supported; use HTTP/1.1.",
        ),
    ),
    (
        UnsupportedTransferCoding,
        Rejection(
            501,
            REASONS[501],
            "The request's Transfer-Encoding is not supported; send chunked or a Content-Length.",
        ),
    ),
    (ConfigurationProblem, SERVER_ERROR),
    (
        ObsoleteFolding,
        Rejection(
            400,
            "Obsolete header folding",
            "A request header continues on the next line, which HTTP/1.1 no longer allows.",
        ),
    ),
    (
        InvalidHeaderName,
        Rejection(400, "Malformed header name", "A request header's name is not a valid token."),
    ),
    (
        InvalidHeader,
        Rejection(
            400,
            "Malformed header",
            "A request header is malformed, or Content-Length and Transfer-Encoding are "
            "invalid or conflict.",
        ),
    ),
    (
        LimitRequestLine,
        Rejection(414, REASONS[414], "The request line is longer than this server accepts."),
    ),
    (
        ExpectationFailed,
        Rejection(417, REASONS[417], "The request's Expect header cannot be met."),
    ),
    (
        LimitRequestHeaders,
        Rejection(
            431,
            REASONS[431],
            "The request has more headers, or longer ones, than this server accepts.",
        ),
    ),
    (
        InvalidProxyLine,
        Rejection(400, "Malformed PROXY line", "The PROXY protocol line is not valid."),
    ),
    (
        ForbiddenProxyRequest,
        Rejection(403, REASONS[403], "PROXY protocol is not accepted from this address."),
    ),
    (
        InvalidSchemeHeaders,
        Rejection(
            400,
            "Contradictory scheme headers",
            "The request's headers disagree on whether it was sent over HTTPS.",
        ),
    ),
    (
        (InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension),
        Rejection(
            400, "Malformed chunked body", "The request body's chunked encoding is not valid."
        ),
    ),
    (
        InvalidH2CPreface,
        Rejection(400, "Malformed HTTP/2 preface", "The HTTP/2 connection preface is not valid."),
    ),
    (
        SSLError,
        Rejection(403, REASONS[403], "The TLS connection could not be established."),
    ),
)


def rejection_for(exc: BaseException) -> Rejection | None:
    """The answer to a request gunicorn turned away, or None when the fault is not the
    client's (a header the application tried to send, or anything unexpected)."""
    if isinstance(exc, InvalidResponseHeader | InvalidResponseHeaderName):
        return None
    for kinds, rejection in REJECTIONS:
        if isinstance(exc, kinds):
            return rejection
    return None


def problem_response(rejection: Rejection) -> bytes:
    """The whole HTTP/1.1 response, closing the connection as gunicorn's own error page does."""
    # Imported here: the arbiter imports this module to find the worker class, and has no
    # use for Flask.
    from shared.web.problems import PROBLEM_CONTENT_TYPE, plain_problem_type

    body = json.dumps(
        {
            "type": plain_problem_type(rejection.status),
            "title": rejection.title,
            "status": rejection.status,
            "detail": rejection.detail,
        },
        ensure_ascii=False,
    ).encode()
    head = (
        f"HTTP/1.1 {rejection.status} {REASONS[rejection.status]}\r\n"
        f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class ProblemThreadWorker(ThreadWorker):
    """gunicorn's gthread worker with its error page and error log line replaced.

    gunicorn's page and its warning quote the rejected request line or header, query string
    and all, and its error log does not pass through sscard's masking. Here the log line names
    the kind of rejection only, and an unexpected error is logged with the path, never the
    query. No access line is written for a rejected request: gunicorn's access log is off in
    every web process (the application writes its own, path-only line), and the warning stands
    in for it."""

    def handle_error(self, req, client, addr, exc):
        rejection = rejection_for(exc)
        if rejection is None:
            method, path = getattr(req, "method", None), getattr(req, "path", None)
            if method and path:
                self.log.exception("Error handling request %s %s", method, path)
            else:
                self.log.exception("Error handling request")
            rejection = SERVER_ERROR
        else:
            self.log.warning(
                "Rejected a request gunicorn could not serve: %d %s (%s)",
                rejection.status,
                rejection.title,
                type(exc).__name__,
            )
        try:
            util.write_nonblock(client, problem_response(rejection))
        except Exception:
            self.log.debug("Failed to send error message.")
