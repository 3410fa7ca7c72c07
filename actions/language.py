"""The conversation's language: the kiosk's choice, else the one already in use, else detected."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction
from rasa_sdk.types import DomainDict

from knowledge.text import detect_language

SUPPORTED = ("vi", "en", "bn")


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
    return detect_language(tracker.latest_message.get("text") or "") or "vi"


class ValidateSlotMappings(ValidationAction):
    """Runs after every user message, before the bot decides what to do."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"language": conversation_language(tracker)}

    async def validate_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Already checked by extract_language; without this rasa-sdk logs a warning on every message."""
        return {"language": value}
