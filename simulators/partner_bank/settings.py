"""The simulator's settings, from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

BANK_URL_PREFIX = "PARTNER_BANK_AMQP_URL_"


def _codes(text: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in text.split(",") if code.strip())


@dataclass
class BankSettings:
    amqp_url: str = "amqp://guest:guest@localhost:5672/%2F"
    printing_url: str = "http://127.0.0.1:8004"
    port: int = 8011
    host: str = "127.0.0.1"
    # Empty: ask the printing service which banks exist (GET /api/v1/banks).
    bank_codes: tuple[str, ...] = field(default_factory=tuple)
    # Changeable at run time through the control endpoint.
    step_delay_seconds: float = 1.0
    failure_rate: float = 0.0
    prefetch: int = 50
    bank_refresh_seconds: float = 30.0
    retry_seconds: float = 5.0
    heartbeat: int = 30
    # Each bank's own broker user (`PARTNER_BANK_AMQP_URL_<CODE>`, from `sscardctl banks
    # onboard` or `sscardctl broker demo-banks`): one connection per bank, as a real bank has.
    bank_urls: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> BankSettings:
        env = dict(os.environ if environ is None else environ)

        def get(name: str, default: str) -> str:
            value = env.get(name)
            return value if value not in (None, "") else default

        return cls(
            amqp_url=get("AMQP_URL", cls.amqp_url),
            printing_url=get("PRINTING_URL", cls.printing_url).rstrip("/"),
            port=int(get("PARTNER_BANK_PORT", str(cls.port))),
            host=get("PARTNER_BANK_HOST", cls.host),
            bank_codes=_codes(get("PARTNER_BANK_CODES", "")),
            step_delay_seconds=float(
                get("PARTNER_BANK_STEP_DELAY_SECONDS", str(cls.step_delay_seconds))
            ),
            failure_rate=float(get("PARTNER_BANK_FAILURE_RATE", str(cls.failure_rate))),
            prefetch=int(get("PARTNER_BANK_PREFETCH", str(cls.prefetch))),
            bank_refresh_seconds=float(
                get("PARTNER_BANK_REFRESH_SECONDS", str(cls.bank_refresh_seconds))
            ),
            retry_seconds=float(get("PARTNER_BANK_RETRY_SECONDS", str(cls.retry_seconds))),
            heartbeat=int(get("PARTNER_BANK_HEARTBEAT", str(cls.heartbeat))),
            bank_urls={
                name.removeprefix(BANK_URL_PREFIX): value
                for name, value in env.items()
                if name.startswith(BANK_URL_PREFIX) and value
            },
        )
