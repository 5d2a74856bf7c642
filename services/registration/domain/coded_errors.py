"""The refusals of registration that a client tells apart by a machine-readable `code` (in the
problem+json body, beside `type`, as the platform's other coded refusals carry it)."""

from __future__ import annotations

from typing import Any

from shared.errors import DomainError, TooManyRequests


class _Coded:
    code = ""

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs["extra"] = {"code": self.code, **(kwargs.get("extra") or {})}
        super().__init__(detail, **kwargs)  # type: ignore[call-arg]


class CodeInvalid(_Coded, DomainError):
    """The texted code is wrong, expired, already used, or dead after too many wrong tries —
    one answer for all four, so a guesser learns nothing from it."""

    status, title, slug, code = 422, "Code not valid", "code-invalid", "code_invalid"


class IdentityNotConfirmed(_Coded, DomainError):
    status, title, slug = 422, "Identity not confirmed", "identity-not-confirmed"
    code = "identity_not_confirmed"


class PhoneNotConfirmed(_Coded, DomainError):
    status, title, slug = 422, "Phone not confirmed", "phone-not-confirmed"
    code = "phone_not_confirmed"


class CodeResendThrottled(_Coded, TooManyRequests):
    title, slug, code = "Code requested too recently", "code-resend-throttled", "code_throttled"


class AddressThrottled(_Coded, TooManyRequests):
    title, slug = "Too many requests from this address", "address-throttled"
    code = "address_throttled"
