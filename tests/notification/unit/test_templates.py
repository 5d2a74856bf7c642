"""Templates: every status a citizen cares about, on every channel, in Chinese and English —
and a notification is never dropped for want of a template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.notification.adapters.template_files import TEMPLATES_DIR, TemplateFiles
from services.notification.domain.channels import CHANNELS
from services.notification.domain.messages import CITIZEN_EVENT_TYPES, readable_reasons
from services.notification.domain.notices import Facts, Recipient, compose, recipients_for
from services.notification.domain.templates import TemplateBook

FULL = Facts(
    acceptance_number="SB7K2Q9M",
    outlet_name="工商银行海淀支行",
    outlet_address="中关村大街 1 号",
    bank_name="中国工商银行",
    reasons=[{"code": "photo_single_face", "detail": "2 faces"}],
)
LEFTOVER = re.compile(r"\$\{?\w")


@pytest.mark.parametrize("event_type", CITIZEN_EVENT_TYPES)
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_status_has_its_own_file_per_channel_and_locale(event_type, channel, locale):
    assert (TEMPLATES_DIR / event_type / f"{channel}.{locale}.txt").is_file()
    rendered = TemplateBook(TemplateFiles()).render(
        event_type, channel, locale, FULL.values(locale)
    )
    assert rendered.template == f"{event_type}/{channel}.{locale}.txt"
    assert not LEFTOVER.search(rendered.body), rendered.body
    if event_type != "card.print_failed":
        assert "SB7K2Q9M" in rendered.body


def test_chinese_is_the_default_and_english_sits_beside_it():
    book = TemplateBook(TemplateFiles())
    chinese = book.render("card.ready_for_pickup", "sms", "zh-CN", FULL.values("zh-CN"))
    english = book.render("card.ready_for_pickup", "sms", "en", FULL.values("en"))
    assert chinese.body.startswith("【社保卡】")
    assert "工商银行海淀支行" in chinese.body and "中关村大街 1 号" in chinese.body
    assert "ready for pickup at 工商银行海淀支行" in english.body
    [default] = compose(book, "card.ready_for_pickup", FULL, [Recipient("sms")])
    assert default.body == chinese.body


def test_rejection_reasons_are_words_not_codes():
    facts = Facts(
        acceptance_number="SB7K2Q9M",
        reasons=[
            {"code": "photo_single_face", "detail": "2 faces found"},
            {"code": "id_card_face_match", "detail": "distance 0.71"},
            {"code": "photo_format_too_large", "detail": "52 KB"},
            {"code": "something_new", "detail": "Explained by the verifier"},
        ],
    )
    body = (
        TemplateBook(TemplateFiles())
        .render("verification.rejected", "email", "en", facts.values("en"))
        .body
    )
    assert "exactly one clear face" in body
    assert "not the same person" in body
    assert "does not meet the rules" in body
    assert "Explained by the verifier" in body
    assert "photo_single_face" not in body and "id_card_face_match" not in body
    chinese = readable_reasons(facts.reasons, "zh-CN")
    assert "有且只有一张" in chinese and "；" in chinese


def test_a_value_not_yet_known_falls_back_to_the_generic_template_not_to_silence():
    # The outlet's name has not arrived yet: the specific template cannot be filled.
    facts = Facts(acceptance_number="SB7K2Q9M")
    rendered = TemplateBook(TemplateFiles()).render(
        "card.ready_for_pickup", "sms", "zh-CN", facts.values("zh-CN")
    )
    assert rendered.template == "_generic/sms.zh-CN.txt"
    assert "可到网点领取" in rendered.body


def test_an_unknown_locale_uses_the_default_locale():
    rendered = TemplateBook(TemplateFiles()).render(
        "card.printed", "wechat", "fr", FULL.values("fr")
    )
    assert rendered.template == "card.printed/wechat.zh-CN.txt"


def test_a_missing_or_broken_template_still_gives_a_message(tmp_path: Path):
    (tmp_path / "card.shipped").mkdir()
    (tmp_path / "card.shipped" / "sms.zh-CN.txt").write_text("broken ${", encoding="utf-8")
    book = TemplateBook(TemplateFiles(tmp_path))
    rendered = book.render("card.shipped", "sms", "zh-CN", FULL.values("zh-CN"))
    assert rendered.template == "built-in"
    assert rendered.body == "已寄往领卡网点"
    unknown = book.render("card.some_future_status", "email", "en", {})
    assert unknown.body == "card.some_future_status"


def test_with_no_channel_bound_yet_the_citizen_is_still_told_by_sms():
    assert recipients_for([]) == [Recipient("sms", "zh-CN")]
    assert recipients_for([("email", "en"), ("sms", "zh-CN")]) == [
        Recipient("email", "en"),
        Recipient("sms", "zh-CN"),
    ]
