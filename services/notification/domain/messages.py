"""Which events a citizen hears about, and the words the templates fill in: status names and
rejection reasons a person can read, in each locale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.notification.domain.channels import DEFAULT_LOCALE

# Every status a citizen cares about (the list, plus a failed print: the citizen should
# know why their card is late, and that nothing is asked of them). Not `verification.started`:
# its outcome follows within seconds, so it goes to webhooks only (handlers.py).
CITIZEN_EVENT_TYPES = (
    "application.submitted",
    "application.cancelled",
    "verification.review_required",
    "verification.approved",
    "verification.rejected",
    "card.print_requested",
    "card.printed",
    "card.print_failed",
    "card.shipped",
    "card.ready_for_pickup",
    "card.collected",
    "card.activated",
    # After activation (docs/printing.md): a loss report is confirmed to the holder at once,
    # so a loss they did not report themselves is noticed.
    "card.reported_lost",
    "card.unblocked",
    "card.replaced",
    "card.cancelled",
    "card.expiry_approaching",
)

# The notice a staff owner gets when their webhook subscription is switched off.
SUBSCRIPTION_DISABLED = "webhook.subscription_disabled"

STATUS_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "account.locked": "账户已停用",
        "application.submitted": "申请已提交",
        "application.cancelled": "申请已取消",
        "verification.review_required": "需要人工复核",
        "verification.approved": "审核通过",
        "verification.rejected": "审核未通过",
        "card.print_requested": "已送交银行制卡",
        "card.printed": "制卡完成",
        "card.print_failed": "制卡未成功，将重新制作",
        "card.shipped": "已寄往领卡网点",
        "card.ready_for_pickup": "可到网点领取",
        "card.collected": "已领取",
        "card.activated": "已激活",
        "card.reported_lost": "已挂失",
        "card.unblocked": "已解除挂失",
        "card.replaced": "已补换新卡",
        "card.cancelled": "已注销",
        "card.expiry_approaching": "即将到期",
        SUBSCRIPTION_DISABLED: "事件订阅已停用",
    },
    "en": {
        "account.locked": "account locked",
        "application.submitted": "application submitted",
        "application.cancelled": "application cancelled",
        "verification.review_required": "waiting for a case worker",
        "verification.approved": "approved",
        "verification.rejected": "not approved",
        "card.print_requested": "sent to the bank for printing",
        "card.printed": "printed",
        "card.print_failed": "printing failed, the card will be printed again",
        "card.shipped": "on its way to the outlet",
        "card.ready_for_pickup": "ready for pickup",
        "card.collected": "collected",
        "card.activated": "activated",
        "card.reported_lost": "reported lost and blocked",
        "card.unblocked": "unblocked",
        "card.replaced": "replaced by a new card",
        "card.cancelled": "cancelled",
        "card.expiry_approaching": "expiring soon",
        SUBSCRIPTION_DISABLED: "event subscription disabled",
    },
}

# Reason codes are the check names (docs/contract.md §3.3); a reviewer's own rejection has
# its own codes. Unknown codes fall back to the detail the verification service sent.
REASON_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "id_number_valid": "身份证号码无效",
        "identity_registry_match": "姓名或身份证号码与户籍登记信息不一致",
        "photo_format": "照片不符合规格（358×441 像素、白色背景的 JPEG 照片）",
        "photo_single_face": "照片中必须有且只有一张清晰的人脸",
        "id_card_face_match": "照片与身份证上的人像不是同一人",
        "registry_face_mismatch_photo": "照片与户籍登记的照片不是同一人",
        "registry_face_mismatch_id_card": "身份证上的人像与户籍登记的照片不是同一人",
        "not_duplicate": "您已有一张有效的社保卡或一份在办的申请",
        "reviewer": "工作人员复核未通过",
        "manual_review": "工作人员复核未通过",
    },
    "en": {
        "id_number_valid": "the ID number is not valid",
        "identity_registry_match": "the name or ID number does not match the identity registry",
        "photo_format": "the photo does not meet the rules (358×441 pixel JPEG, white background)",
        "photo_single_face": "the photo must show exactly one clear face",
        "id_card_face_match": "the photo and the face on the ID card are not the same person",
        "registry_face_mismatch_photo": "the photo is not of the person in the identity registry",
        "registry_face_mismatch_id_card": (
            "the face on the ID card is not the person in the identity registry"
        ),
        "not_duplicate": "you already have a valid card or an application in progress",
        "reviewer": "a case worker did not approve it",
        "manual_review": "a case worker did not approve it",
    },
}

_LIST_SEPARATOR = {"zh-CN": "；", "en": "; "}


def status_words(event_type: str, locale: str) -> str:
    words = STATUS_WORDS.get(locale) or STATUS_WORDS[DEFAULT_LOCALE]
    return words.get(event_type) or STATUS_WORDS[DEFAULT_LOCALE].get(event_type, event_type)


def reason_words(code: str, detail: str | None, locale: str) -> str:
    words = REASON_WORDS.get(locale) or REASON_WORDS[DEFAULT_LOCALE]
    if code in words:
        return words[code]
    # Codes such as `photo_format_too_large` refine a check; the check's words still fit.
    for known, text in words.items():
        if code.startswith(known + "_") or code.startswith(known + "."):
            return text
    return (detail or "").strip() or code


def readable_reasons(reasons: Iterable[Mapping[str, str]], locale: str) -> str:
    texts: list[str] = []
    for reason in reasons:
        text = reason_words(str(reason.get("code", "")), reason.get("detail"), locale)
        if text and text not in texts:
            texts.append(text)
    return (_LIST_SEPARATOR.get(locale) or "; ").join(texts)
