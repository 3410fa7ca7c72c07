"""Small conversational actions: the two-stage fallback, switching language, the centre's details."""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import HoursError, OpeningHours
from actions.language import SUPPORTED, conversation_language
from actions.procedures import SHARED_RETRIEVER, STAFF_BUTTON
from knowledge.retriever import UNKNOWN, KnowledgeUnavailable, Retriever
from knowledge.text import fold

log = logging.getLogger(__name__)

REPHRASE = {
    "vi": 'Xin lỗi, tôi chưa hiểu ý bạn. Bạn nói cách khác được không, ví dụ "làm giấy khai sinh cần gì?"',
    "en": 'Sorry, I didn\'t understand. Could you say it another way, for example "how do I register a birth?"',
    "bn": 'দুঃখিত, বুঝতে পারিনি। অন্যভাবে বলবেন? যেমন "জন্ম নিবন্ধন কীভাবে করব?"',
}
OFFER_STAFF = {
    "vi": "Tôi vẫn chưa hiểu. Bạn có muốn gặp cán bộ không? Hoặc chọn một việc thường gặp bên dưới.",
    "en": "I still don't understand. Would you like to talk to a member of staff? Or pick a common task below.",
    "bn": "এখনও বুঝতে পারিনি। আপনি কি একজন কর্মীর সাথে কথা বলতে চান? অথবা নিচে একটি সাধারণ কাজ বেছে নিন।",
}
BUTTONS = {
    "staff": STAFF_BUTTON,
    "birth": {"vi": "Đăng ký khai sinh", "en": "Register a birth", "bn": "জন্ম নিবন্ধন"},
    "id": {"vi": "Làm căn cước", "en": "Identity card", "bn": "পরিচয়পত্র"},
}
QUICK_QUESTIONS = {
    "birth": {"vi": "đăng ký khai sinh", "en": "how do I register a birth", "bn": "জন্ম নিবন্ধন কীভাবে করব"},
    "id": {"vi": "làm căn cước", "en": "how do I get an identity card", "bn": "পরিচয়পত্র কীভাবে করব"},
}


class ActionFallback(Action):
    """When NLU is unsure, the catalogue is asked first: a bare "ho chieu" or "passport" names a
    procedure even though it reads as no intent. Otherwise, the first time: ask to rephrase; twice in
    a row: offer staff (and common tasks)."""

    def __init__(self, retriever: Retriever | None = None) -> None:
        self._retriever = retriever  # tests pass their own; the real one is shared and opened lazily

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if self._names_a_procedure(tracker.latest_message.get("text") or ""):
            return [FollowupAction("action_answer_procedure")]
        lang = conversation_language(tracker)
        if _asked_to_rephrase_last_turn(tracker):
            buttons = [{"title": BUTTONS["staff"][lang], "payload": "/request_human"}]
            buttons += [{"title": BUTTONS[k][lang], "payload": QUICK_QUESTIONS[k][lang]} for k in ("birth", "id")]
            dispatcher.utter_message(
                text=OFFER_STAFF[lang], buttons=buttons, json_message={"type": "fallback", "stage": 2}
            )
        else:
            dispatcher.utter_message(text=REPHRASE[lang], json_message={"type": "fallback", "stage": 1})
        return []

    def _names_a_procedure(self, text: str) -> bool:
        if not text.strip() or text.lstrip().startswith("/"):
            return False  # nothing typed, or a button payload
        try:
            retriever = self._retriever or SHARED_RETRIEVER.get()
            return retriever.search(text, k=5).verdict != UNKNOWN
        except KnowledgeUnavailable as exc:
            log.error("knowledge unavailable, asking to rephrase: %s", exc)
            return False


def _asked_to_rephrase_last_turn(tracker: Tracker) -> bool:
    """Whether the user's previous message also ended in this fallback (and not in an answer it
    found in the catalogue)."""
    users = 0
    last_action = None  # the last action before the latest message, other than listening
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                return last_action == "action_fallback"
        elif users == 1 and last_action is None and event.get("event") == "action":
            last_action = None if event.get("name") == "action_listen" else event.get("name")
    return False


# How people name our languages, folded (no diacritics, lower case).
LANGUAGE_NAMES = {
    "vi": ("tieng viet", "viet", "vietnamese", "ভিয়েতনামী", "ভিয়েতনামি"),
    "en": ("tieng anh", "english", "anh ngu", "ingreji", "ইংরেজি", "ইংরেজিতে", "ইংলিশ"),
    "bn": ("bengali", "bangla", "tieng bengal", "tieng bangla", "বাংলা", "বাংলায়"),
}
SWITCHED = {
    "vi": "Được, từ giờ tôi sẽ trả lời bằng tiếng Việt. Bạn cần làm thủ tục gì?",
    "en": "Sure, I'll answer in English from now on. What do you need to do?",
    "bn": "ঠিক আছে, এখন থেকে বাংলায় উত্তর দেব। আপনার কী কাজ দরকার?",
}
WHICH_LANGUAGE = {
    "vi": "Tôi nói được tiếng Việt, tiếng Anh và tiếng Bengal. Bạn muốn dùng tiếng nào?",
    "en": "I can speak Vietnamese, English and Bengali. Which would you like?",
    "bn": "আমি ভিয়েতনামী, ইংরেজি ও বাংলা বলতে পারি। কোনটি চান?",
}
LANGUAGE_BUTTONS = [
    {"title": "Tiếng Việt", "payload": "Tiếng Việt"},
    {"title": "English", "payload": "English"},
    {"title": "বাংলা", "payload": "বাংলা"},
]


def named_language(text: str) -> str | None:
    folded = fold(text).lower()
    found = [lang for lang, names in LANGUAGE_NAMES.items() if any(fold(n) in folded for n in names)]
    return found[0] if len(found) == 1 else None


class ActionChooseLanguage(Action):
    """ "English please" / "nói tiếng Việt" / "বাংলায় বলুন": switch and keep that language."""

    def name(self) -> str:
        return "action_choose_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        chosen = named_language(tracker.latest_message.get("text") or "")
        if chosen not in SUPPORTED:
            lang = conversation_language(tracker)
            dispatcher.utter_message(text=WHICH_LANGUAGE[lang], buttons=LANGUAGE_BUTTONS)
            return []
        dispatcher.utter_message(text=SWITCHED[chosen], json_message={"type": "language", "lang": chosen})
        return [SlotSet("language", chosen)]


CENTRE = {
    "hours": {"vi": "Giờ làm việc", "en": "Opening hours", "bn": "খোলার সময়"},
    "address": {"vi": "Địa chỉ", "en": "Address", "bn": "ঠিকানা"},
    "phone": {"vi": "Điện thoại", "en": "Phone", "bn": "ফোন"},
    "open_now": {"vi": "Hiện đang mở cửa.", "en": "We are open now.", "bn": "এখন খোলা আছে।"},
    "closed_now": {"vi": "Hiện đang đóng cửa.", "en": "We are closed now.", "bn": "এখন বন্ধ আছে।"},
    "anywhere": {
        "vi": "Nhiều thủ tục nộp được tại bất kỳ trung tâm phục vụ hành chính công nào trong tỉnh, không phụ thuộc nơi cư trú.",
        "en": "Many procedures can be filed at any public administrative service centre in the province, wherever you live.",
        "bn": "অনেক প্রক্রিয়া প্রদেশের যেকোনো জনপ্রশাসন সেবা কেন্দ্রে জমা দেওয়া যায়, আপনি যেখানেই থাকুন।",
    },
    "ask_reception": {
        "vi": "Địa chỉ trung tâm chưa được cấu hình; bạn hỏi quầy lễ tân nhé.",
        "en": "The centre's address is not configured here; please ask at reception.",
        "bn": "কেন্দ্রের ঠিকানা এখানে দেওয়া নেই; অনুগ্রহ করে অভ্যর্থনায় জিজ্ঞাসা করুন।",
    },
}


class ActionCentreInfo(Action):
    """The centre's address, phone and opening hours, as the deployment configures them."""

    def name(self) -> str:
        return "action_centre_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = conversation_language(tracker)
        lines: list[str] = []
        name = os.environ.get("ASSIST_CENTRE_NAME", "").strip()
        if name:
            lines.append(name)
        address = os.environ.get("ASSIST_CENTRE_ADDRESS", "").strip()
        lines.append(f"{CENTRE['address'][lang]}: {address}" if address else CENTRE["ask_reception"][lang])
        phone = os.environ.get("ASSIST_CENTRE_PHONE", "").strip()
        if phone:
            lines.append(f"{CENTRE['phone'][lang]}: {phone}")
        payload: dict[str, Any] = {"type": "centre", "address": address or None, "phone": phone or None}
        try:
            hours = OpeningHours.from_env()
            lines.append(f"{CENTRE['hours'][lang]}: {hours.describe(lang)}")
            open_now = hours.is_open()
            lines.append(CENTRE["open_now" if open_now else "closed_now"][lang])
            payload["open_now"] = open_now
        except HoursError:
            pass  # a misconfigured setting: the supervisor's start-up check names it
        lines.append(CENTRE["anywhere"][lang])
        dispatcher.utter_message(text="\n".join(lines), json_message=payload)
        return []
