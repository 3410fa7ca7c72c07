"""Turn a procedure record into the citizen's answer: plain text plus a `custom` card payload.

Every fact shown comes from the record; only the labels around them are ours.
"""

from __future__ import annotations

from typing import Any

from knowledge.schema import CopyKind, OnlineLevel, Procedure, Text, TimeUnit

LABELS: dict[str, dict[str, str]] = {
    "code": {"vi": "mã", "en": "code", "bn": "কোড"},
    "documents": {"vi": "Giấy tờ cần có", "en": "Documents you need", "bn": "প্রয়োজনীয় কাগজপত্র"},
    "fee": {"vi": "Lệ phí", "en": "Fee", "bn": "ফি"},
    "free": {"vi": "Miễn phí", "en": "Free", "bn": "বিনামূল্যে"},
    "time": {"vi": "Thời gian giải quyết", "en": "Processing time", "bn": "প্রক্রিয়াকরণের সময়"},
    "where": {"vi": "Nơi nộp", "en": "Where to file", "bn": "কোথায় জমা দেবেন"},
    "online_full": {
        "vi": "Nộp trực tuyến toàn trình",
        "en": "Can be filed fully online",
        "bn": "সম্পূর্ণ অনলাইনে জমা দেওয়া যায়",
    },
    "online_partial": {
        "vi": "Nộp trực tuyến được (một phần)",
        "en": "Can be filed online (partly)",
        "bn": "অনলাইনে জমা দেওয়া যায় (আংশিক)",
    },
    "online_none": {"vi": "Chưa nộp trực tuyến được", "en": "Not available online", "bn": "অনলাইনে পাওয়া যায় না"},
    "in_person": {"vi": "trực tiếp", "en": "in person", "bn": "সরাসরি"},
    "post": {"vi": "qua bưu điện", "en": "by post", "bn": "ডাকযোগে"},
    "not_stated": {"vi": "chưa có thông tin", "en": "not stated", "bn": "তথ্য নেই"},
    "fallback_note": {
        "vi": "",
        "en": "(Some details are only available in Vietnamese.)",
        "bn": "(কিছু তথ্য শুধু ভিয়েতনামী ভাষায় আছে।)",
    },
}
COPY_KINDS = {
    CopyKind.original: {"vi": "bản chính", "en": "original", "bn": "মূল কপি"},
    CopyKind.copy: {"vi": "bản sao", "en": "copy", "bn": "কপি"},
    CopyKind.original_or_copy: {"vi": "bản chính hoặc bản sao", "en": "original or copy", "bn": "মূল বা কপি"},
    CopyKind.present: {"vi": "xuất trình", "en": "show at the counter", "bn": "কাউন্টারে দেখাতে হবে"},
}
TIME_UNITS = {
    TimeUnit.working_days: {"vi": "ngày làm việc", "en": "working days", "bn": "কর্মদিবস"},
    TimeUnit.days: {"vi": "ngày", "en": "days", "bn": "দিন"},
    TimeUnit.hours: {"vi": "giờ", "en": "hours", "bn": "ঘণ্টা"},
    TimeUnit.months: {"vi": "tháng", "en": "months", "bn": "মাস"},
    TimeUnit.immediate: {"vi": "trả ngay", "en": "on the spot", "bn": "তাৎক্ষণিক"},
}


class Writer:
    """Collects text in one language and remembers whether any of it fell back to Vietnamese."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.fell_back = False

    def text(self, value: Text | None) -> str:
        if value is None:
            return ""
        out, fell_back = value.get(self.lang)
        self.fell_back |= fell_back
        return out

    def label(self, key: str) -> str:
        return LABELS[key][self.lang]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def fee_text(record: Procedure, w: Writer) -> str:
    if not record.fees:
        return w.label("not_stated")
    parts = []
    for fee in record.fees:
        value = w.label("free") if fee.amount == 0 else f"{_money(fee.amount)} {fee.unit}"
        if fee.per:
            value += f" {w.text(fee.per)}"
        if fee.condition:
            value += f" ({w.text(fee.condition)})"
        parts.append(value)
    return "; ".join(parts)


def time_text(record: Procedure, w: Writer) -> str:
    t = record.processing_time
    if t is None:
        return w.label("not_stated")
    unit = TIME_UNITS[t.unit][w.lang]
    value = unit if t.unit is TimeUnit.immediate else f"{_number(t.amount)} {unit}"
    return f"{value} ({w.text(t.note)})" if t.note else value


def where_text(record: Procedure, w: Writer) -> str:
    agencies = ", ".join(w.text(a) for a in record.agencies)
    ways = [w.label(k) for k in ("in_person", "post") if getattr(record.channels, k)]
    return f"{agencies} — {', '.join(ways)}" if ways else agencies


def online_text(record: Procedure, w: Writer) -> str:
    return w.label(f"online_{record.channels.online.value}")


def documents(record: Procedure, w: Writer) -> list[dict[str, Any]]:
    out = []
    for doc in record.documents:
        kind = COPY_KINDS[doc.kind][w.lang]
        shown = doc.kind is CopyKind.present or not doc.copies
        out.append(
            {
                "name": w.text(doc.name),
                "copies": doc.copies,
                "kind": kind,
                "quantity": kind if shown else f"{doc.copies} {kind}",
                "when": w.text(doc.when) or None,
                "template": doc.template,
            }
        )
    return out


ASPECTS = ("all", "documents", "fee", "time", "where", "online")


def procedure_answer(record: Procedure, lang: str, aspect: str = "all") -> tuple[str, dict[str, Any]]:
    """The reply text and the `custom` card for one procedure; `aspect` narrows the text to what was asked."""
    w = Writer(lang)
    title = w.text(record.title)
    docs = documents(record, w)
    card: dict[str, Any] = {
        "type": "procedure",
        "code": record.code,
        "aspect": aspect,
        "lang": lang,
        "title": title,
        "summary": w.text(record.summary),
        "documents": docs,
        "fee": fee_text(record, w),
        "free": record.is_free(),
        "processing_time": time_text(record, w),
        "where": where_text(record, w),
        "online": record.channels.online.value,
        "online_text": online_text(record, w),
        "portal_url": record.channels.portal_url,
        "labels": {k: w.label(k) for k in ("code", "documents", "fee", "time", "where")},
    }
    online_line = card["online_text"] + (
        f": {record.channels.portal_url}" if record.channels.online is not OnlineLevel.none else ""
    )
    doc_lines = [f"• {d['name']} — {d['quantity']}" + (f" ({d['when']})" if d["when"] else "") for d in docs]
    sections = {
        "documents": [f"{w.label('documents')}:", *doc_lines]
        if docs
        else [f"{w.label('documents')}: {w.label('not_stated')}"],
        "fee": [f"{w.label('fee')}: {card['fee']}"],
        "time": [f"{w.label('time')}: {card['processing_time']}"],
        "where": [f"{w.label('where')}: {card['where']}"],
        "online": [online_line],
    }
    lines = [f"{title} ({w.label('code')} {record.code})"]
    if aspect == "all":
        lines.append(card["summary"])
        for key in ("documents", "fee", "time", "where", "online"):
            lines += sections[key]
    else:
        lines += sections[aspect]
    card["fell_back"] = w.fell_back
    if w.fell_back and LABELS["fallback_note"][lang]:
        lines.append(LABELS["fallback_note"][lang])
    return "\n".join(line for line in lines if line), card
