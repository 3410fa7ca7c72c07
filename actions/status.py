"""Status of a filing by its reference code, behind an adapter a province can replace.

The embedded default reads the app database, where staff move drafts along in the console. A
province with its own one-stop system sets `ASSIST_STATUS_SOURCE=package.module:ClassName`; the class
is built with no arguments and needs one method, `lookup(reference) -> StatusReport | None`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import conversation_language
from actions.procedures import SHARED_RETRIEVER
from actions.store import REFERENCE_ALPHABET, REFERENCE_LENGTH, Store, StoreUnavailable, shared_store
from knowledge.schema import Procedure

log = logging.getLogger(__name__)

REFERENCE_RE = re.compile(
    rf"(?<![A-Za-z0-9])(?=[A-Za-z]*[0-9])(?=[0-9]*[A-Za-z])[{REFERENCE_ALPHABET}{REFERENCE_ALPHABET.lower()}]{{{REFERENCE_LENGTH}}}(?![A-Za-z0-9])"
)


@dataclass(frozen=True)
class StatusReport:
    reference: str
    state: str  # draft | received | processing | ready | done
    note: str
    procedure_code: str
    procedure_title: str
    updated_at: dt.datetime


class StatusSource(Protocol):
    def lookup(self, reference: str) -> StatusReport | None: ...


class DatabaseStatusSource:
    """Drafts in the app database, as staff update them."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or shared_store()

    def lookup(self, reference: str) -> StatusReport | None:
        draft = self.store.get_draft(reference)
        if draft is None:
            return None
        return StatusReport(
            draft.reference, draft.state, draft.note, draft.procedure_code, draft.procedure_title, draft.updated_at
        )


class StatusSourceError(RuntimeError):
    pass


def load_status_source(spec: str | None = None) -> StatusSource:
    spec = spec if spec is not None else os.environ.get("ASSIST_STATUS_SOURCE", "")
    if not spec:
        return DatabaseStatusSource()
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise StatusSourceError(f"ASSIST_STATUS_SOURCE={spec!r}: cannot load it ({exc})") from exc
    return cls()


def find_reference(text: str) -> str | None:
    match = REFERENCE_RE.search(text.replace("-", ""))
    return match.group(0).upper() if match else None


STATE_NAMES = {
    "draft": {"vi": "hồ sơ nháp, chưa nộp", "en": "draft, not yet submitted", "bn": "খসড়া, এখনও জমা হয়নি"},
    "received": {"vi": "đã tiếp nhận tại quầy", "en": "received at the counter", "bn": "কাউন্টারে গৃহীত"},
    "processing": {"vi": "đang giải quyết", "en": "being processed", "bn": "প্রক্রিয়াধীন"},
    "ready": {"vi": "đã có kết quả, mời đến nhận", "en": "result ready", "bn": "ফলাফল প্রস্তুত"},
    "done": {"vi": "đã trả kết quả", "en": "done, result handed over", "bn": "সম্পন্ন, ফলাফল প্রদান করা হয়েছে"},
}
ASK_REFERENCE = {
    "vi": "Bạn cho tôi mã tra cứu hồ sơ (8 ký tự chữ và số, ví dụ K7Q2M9XD) nhé.",
    "en": "Please tell me your reference code (8 letters and digits, for example K7Q2M9XD).",
    "bn": "আপনার রেফারেন্স কোডটি দিন (৮টি অক্ষর ও সংখ্যা, যেমন K7Q2M9XD)।",
}
NOT_FOUND = {
    "vi": "Không tìm thấy hồ sơ có mã {ref}. Bạn kiểm tra lại mã trên phiếu hẹn.",
    "en": "I found no application with the reference {ref}. Please check the code on your slip.",
    "bn": "{ref} রেফারেন্সে কোনো আবেদন পাওয়া যায়নি। আপনার স্লিপে কোডটি আবার দেখুন।",
}
REPORT = {
    "vi": "Hồ sơ {ref} ({title}): {state}.",
    "en": "Application {ref} ({title}): {state}.",
    "bn": "আবেদন {ref} ({title}): {state}।",
}
NOTE = {"vi": "Ghi chú của cán bộ: {note}", "en": "Note from staff: {note}", "bn": "কর্মীর মন্তব্য: {note}"}
UNAVAILABLE = {
    "vi": "Xin lỗi, hiện chưa tra cứu được trạng thái hồ sơ. Bạn thử lại sau ít phút.",
    "en": "Sorry, I cannot look up applications right now. Please try again in a few minutes.",
    "bn": "দুঃখিত, এই মুহূর্তে আবেদনের অবস্থা দেখা যাচ্ছে না। কয়েক মিনিট পরে চেষ্টা করুন।",
}


class ActionCheckStatus(Action):
    def __init__(self, source: StatusSource | None = None, records: Mapping[str, Procedure] | None = None) -> None:
        self._source = source
        self._records = records

    def title(self, report: StatusReport, lang: str) -> str:
        """The procedure's title in the citizen's language when the catalogue has it; else as saved."""
        records = self._records
        if records is None and SHARED_RETRIEVER.ready:  # warmed at start; never loaded just for a title
            records = SHARED_RETRIEVER.get().records
        record = records.get(report.procedure_code) if records and report.procedure_code else None
        return record.title.get(lang)[0] if record is not None else report.procedure_title

    def name(self) -> str:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = conversation_language(tracker)
        reference = next(tracker.get_latest_entity_values("reference"), None) or find_reference(
            tracker.latest_message.get("text") or ""
        )
        if not reference:
            dispatcher.utter_message(text=ASK_REFERENCE[lang])
            return []
        reference = reference.upper()
        try:
            report = (self._source or load_status_source()).lookup(reference)
        except (StoreUnavailable, StatusSourceError) as exc:
            log.error("status lookup failed: %s", exc)
            dispatcher.utter_message(text=UNAVAILABLE[lang])
            return []
        if report is None:
            dispatcher.utter_message(text=NOT_FOUND[lang].format(ref=reference))
            return []
        state = STATE_NAMES.get(report.state, {}).get(lang, report.state)
        lines = [REPORT[lang].format(ref=report.reference, title=self.title(report, lang), state=state)]
        if report.note:
            lines.append(NOTE[lang].format(note=report.note))
        dispatcher.utter_message(
            text="\n".join(lines),
            json_message={"type": "status", "reference": report.reference, "state": report.state, "note": report.note},
        )
        return []
