"""Container health checks without curl: `python -m shared.runtime.healthcheck http URL` or
`python -m shared.runtime.healthcheck file PATH --max-age SECONDS`.

Processes without an HTTP port (workers, relays) prove they are alive by touching a heartbeat
file (`SSCARD_HEARTBEAT_FILE`) from their main loop while they are connected and working.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.request
from pathlib import Path


class HeartbeatFile:
    def __init__(self, path: str | None = None, every: float = 5.0) -> None:
        configured = path or os.environ.get("SSCARD_HEARTBEAT_FILE")
        self.path = Path(configured) if configured else None
        self.every = every
        self._last = 0.0

    def beat(self) -> None:
        if self.path is None or time.monotonic() - self._last < self.every:
            return
        self._last = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()


def check_http(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 — our own URL
            return response.status == 200
    except OSError:
        return False


def check_file(path: str, max_age: float) -> bool:
    try:
        return time.time() - Path(path).stat().st_mtime <= max_age
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.runtime.healthcheck", description=__doc__
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    http = modes.add_parser("http")
    http.add_argument("url")
    http.add_argument("--timeout", type=float, default=3.0)
    heartbeat = modes.add_parser("file")
    heartbeat.add_argument("path")
    heartbeat.add_argument("--max-age", type=float, default=60.0)
    args = parser.parse_args(argv)
    healthy = (
        check_http(args.url, args.timeout)
        if args.mode == "http"
        else check_file(args.path, args.max_age)
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
