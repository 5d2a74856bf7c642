"""Texted one-time codes that prove a person holds a phone: six digits from `secrets`, kept
only as an HMAC bound to the phone and the purpose, alive for minutes, usable once, dead after
a few wrong tries, and at most one new code per phone per resend interval."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.registration.domain.coded_errors import CodeInvalid, CodeResendThrottled

CODE_DIGITS = 6
CODE_PATTERN = r"^[0-9]{6}$"
_KEY_LABEL = b"sscard registration phone codes v1"


class Purpose(StrEnum):
    REGISTER = "register"
    RESET_PASSWORD = "reset_password"  # noqa: S105 — a purpose's name, not a secret


_TEXTS = {
    Purpose.REGISTER: (
        "【sscard】您的注册验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略。"
    ),
    Purpose.RESET_PASSWORD: (
        "【sscard】您正在重置密码，验证码是 {code}，{minutes} 分钟内有效。"
        "如非本人操作，请勿告诉他人。"
    ),
}


def code_key(secret_material: bytes) -> bytes:
    """The HMAC key for codes, derived from the service's secret material (so the stored
    HMACs are worthless without it, and the material itself is never used twice)."""
    return hmac.new(secret_material, _KEY_LABEL, hashlib.sha256).digest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hmac(key: bytes, *, phone: str, purpose: Purpose, code: str) -> str:
    message = f"{phone}\x00{purpose}\x00{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def text_for(purpose: Purpose, code: str, ttl_seconds: int) -> str:
    return _TEXTS[purpose].format(code=code, minutes=max(1, ttl_seconds // 60))


@dataclass(frozen=True)
class CodeRules:
    ttl: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    resend_interval: timedelta = timedelta(minutes=1)

    def check_resend(self, last_sent_at: datetime | None, now: datetime) -> None:
        """CodeResendThrottled while the phone's last code is younger than the interval."""
        if last_sent_at is None:
            return
        wait = (last_sent_at + self.resend_interval - now).total_seconds()
        if wait > 0:
            raise CodeResendThrottled(
                f"A code was sent to this phone moments ago; ask again in {math.ceil(wait)} "
                "seconds.",
                retry_after=max(1, math.ceil(wait)),
            )


@dataclass(frozen=True)
class StoredCode:
    """What is known of a code without its digits."""

    code_hmac: str
    expires_at: datetime
    failed_attempts: int

    def alive(self, rules: CodeRules, now: datetime) -> bool:
        """Not expired and not killed by wrong tries. (A used code is alive, so a retried
        request can be answered from its Idempotency-Key; using it twice is refused when it
        is used up, in the request's transaction.)"""
        return now < self.expires_at and self.failed_attempts < rules.max_attempts

    def matches(self, given_hmac: str) -> bool:
        return hmac.compare_digest(self.code_hmac, given_hmac)


def code_invalid() -> CodeInvalid:
    return CodeInvalid(
        "The code is wrong, has expired or was already used; ask for a new one.",
        errors={"code": ["The code is wrong, has expired or was already used."]},
    )
