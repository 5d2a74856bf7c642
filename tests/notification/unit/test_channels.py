"""Channel addresses: what each channel accepts, how it is stored and how it is shown."""

from __future__ import annotations

import pytest

from services.notification.domain.channels import mask_address, normalise_address
from shared.errors import InvalidInput


@pytest.mark.parametrize(
    ("channel", "raw", "stored"),
    [
        ("sms", "13812345678", "13812345678"),
        ("sms", "+86 138-1234-5678", "13812345678"),
        ("sms", "8613812345678", "13812345678"),
        ("email", "Li.Na+card@Example.COM", "Li.Na+card@example.com"),
        ("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ("alipay", "2088102146225135", "2088102146225135"),
        ("alipay", "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5", None),
    ],
)
def test_valid_addresses_are_stored_in_one_form(channel, raw, stored):
    assert normalise_address(channel, raw) == (stored or raw)


@pytest.mark.parametrize(
    ("channel", "raw"),
    [
        ("sms", "12345"),
        ("sms", "23812345678"),
        ("sms", "1381234567a"),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", "x" * 65 + "@example.com"),
        ("wechat", "short"),
        ("wechat", "has spaces in it but long enough"),
        ("alipay", "2088abc"),
        ("alipay", "<script>alert(1)</script>"),
    ],
)
def test_invalid_addresses_are_refused_naming_the_field(channel, raw):
    with pytest.raises(InvalidInput) as error:
        normalise_address(channel, raw)
    assert list(error.value.errors) == ["address"]


def test_addresses_are_masked_for_display():
    assert mask_address("sms", "13812345678") == "138****5678"
    assert mask_address("email", "lina@example.com") == "l***@example.com"
    assert mask_address("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o") == "oUpF***eS6o"
    assert "2146" not in mask_address("alipay", "2088102146225135")
