"""The conversation's language: the kiosk's choice, else the one already in use, else detected."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

SUPPORTED = ("vi", "en", "bn")
_BENGALI = re.compile(r"[\u0980-\u09FF]")
# Letters only Vietnamese uses among our languages (đ, ơ, ư, and vowels with tone marks).
_VI_LETTERS = re.compile(r"[đơưăâêô]|[\u0300\u0301\u0303\u0309\u0323]", re.IGNORECASE)
# Common Vietnamese words as people type them without diacritics.
_VI_ASCII_WORDS = frozenset(
    [
        "toi",
        "ban",
        "muon",
        "lam",
        "the",
        "nao",
        "can",
        "giay",
        "to",
        "gi",
        "o",
        "dau",
        "bao",
        "nhieu",
        "lau",
        "dang",
        "ky",
        "khai",
        "sinh",
        "ket",
        "hon",
        "cho",
        "con",
        "xin",
        "chao",
        "cam",
        "on",
        "tam",
        "biet",
        "ho",
        "chieu",
        "can",
        "cuoc",
        "thu",
        "tuc",
        "nop",
        "phi",
        "le",
        "mat",
        "may",
        "ngay",
        "cua",
        "va",
        "co",
        "khong",
        "duoc",
        "nhu",
        "la",
        "minh",
        "em",
        "anh",
        "chi",
        "tam",
        "tru",
        "thuong",
        "tru",
        "xac",
        "nhan",
        "chung",
        "thuc",
    ]
)


def detect(text: str) -> str | None:
    """Best guess of vi/en/bn for a message, or None when the text says nothing."""
    if _BENGALI.search(text):
        return "bn"
    decomposed = unicodedata.normalize("NFD", text)
    if _VI_LETTERS.search(decomposed):
        return "vi"
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return None
    vi_share = sum(w in _VI_ASCII_WORDS for w in words) / len(words)
    return "vi" if vi_share >= 0.5 else "en"


def latest_metadata(tracker: Tracker) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("metadata") or {}
    return {}


def conversation_language(tracker: Tracker) -> str:
    """The language to answer in this turn."""
    chosen = latest_metadata(tracker).get("lang")
    if chosen in SUPPORTED:
        return chosen
    current = tracker.get_slot("language")
    if current in SUPPORTED:
        return current
    return detect(tracker.latest_message.get("text") or "") or "vi"


class ValidateSlotMappings(ValidationAction):
    """Runs after every user message, before the bot decides what to do."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"language": conversation_language(tracker)}
