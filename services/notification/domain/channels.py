"""The channels a citizen can be reached on, what a valid address looks like on each, and how
an address is shown when it must not be shown in full."""

from __future__ import annotations

import re

from services.notification.domain.statuses import BindingSource
from shared.errors import InvalidInput
from shared.personal_data.protection import mask_phone

SMS = "sms"
EMAIL = "email"
WECHAT = "wechat"
ALIPAY = "alipay"
CHANNELS = (SMS, EMAIL, WECHAT, ALIPAY)
# Not a delivery channel: a message kept only in the owner's notification list (used for
# notices to staff accounts, who may have bound nothing).
INBOX = "inbox"

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"

# Mainland mobile numbers: 11 digits starting 13–19. A leading +86 / 86 and separators are
# accepted and dropped, so one person's number is stored one way.
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# WeChat openids are 28 URL-safe characters today; allow some room for other app types.
_OPENID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Alipay: the classic 16-digit user id starting 2088, or an openid-style id.
_ALIPAY_USER_ID = re.compile(r"^2088\d{12}$")


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s()-]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def normalise_address(channel: str, raw: str) -> str:
    """The address as stored, or InvalidInput saying what is wrong with it."""
    value = raw.strip()
    if channel == SMS:
        phone = normalise_phone(value)
        if not _MOBILE.match(phone):
            raise _invalid("Not a mainland China mobile number (11 digits starting with 1).")
        return phone
    if channel == EMAIL:
        if len(value) > 254 or not _EMAIL.match(value):
            raise _invalid("Not a valid e-mail address.")
        local, _, domain = value.rpartition("@")
        if len(local) > 64:
            raise _invalid("Not a valid e-mail address.")
        return f"{local}@{domain.lower()}"
    if channel == WECHAT:
        if not _OPENID.match(value):
            raise _invalid("Not a WeChat openid (16–64 letters, digits, '-' or '_').")
        return value
    if channel == ALIPAY:
        if not (_ALIPAY_USER_ID.match(value) or _OPENID.match(value)):
            raise _invalid("Not an Alipay user id (2088 and 12 digits) or openid.")
        return value
    raise InvalidInput(f"Unknown channel {channel!r}.", errors={"channel": ["Unknown channel."]})


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, errors={"address": [message]})


def mask_address(channel: str, address: str | None) -> str:
    """Enough to recognise one's own address, not enough to use someone else's."""
    if not address:
        return ""
    if channel == SMS:
        return mask_phone(address)
    if channel == EMAIL:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) <= 8:
        return "*" * len(address)
    return f"{address[:4]}***{address[-4:]}"


def replaces_binding(new_source: str, current_source: str) -> bool:
    """A citizen's own binding replaces whatever was there; the registration phone only fills
    an empty place, so a late or redelivered `account.registered` never undoes a choice."""
    return not (new_source == BindingSource.ACCOUNT and current_source == BindingSource.CITIZEN)
