"""Answer a citizen's question with the matching procedure from the knowledge index."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.followup import names_something
from actions.language import conversation_language
from actions.render import procedure_answer
from knowledge.retriever import AMBIGUOUS, UNKNOWN, KnowledgeUnavailable, LazyRetriever, Result, Retriever

log = logging.getLogger(__name__)

# What each question intent asks about; everything else gets the whole card.
ASPECT_OF_INTENT = {
    "ask_documents": "documents",
    "ask_fee": "fee",
    "ask_processing_time": "time",
    "ask_where_to_file": "where",
    "ask_online": "online",
}
# A follow-up stays on the procedure in context unless the question names another one clearly:
# the current procedure must then score this far below the best match.
SWITCH_MARGIN = 0.02
# When the match is ambiguous, offer (up to three) procedures scoring this close to the best.
CHOICE_WITHIN = 0.02

# One retriever per action-server process, opened on first use (or warmed by actions.server).
SHARED_RETRIEVER = LazyRetriever()

CHOOSE = {
    "vi": "Bạn muốn hỏi thủ tục nào?",
    "en": "Which of these do you mean?",
    "bn": "আপনি কোনটির কথা বলছেন?",
}
NOT_FOUND = {
    "vi": 'Tôi chưa tìm thấy thủ tục nào khớp với câu hỏi. Bạn hãy nói rõ hơn việc cần làm, ví dụ "đăng ký khai sinh cho con", hoặc nhờ cán bộ hỗ trợ.',
    "en": "I couldn't find a procedure that matches. Please say what you need to do, for example \"register my baby's birth\", or ask a member of staff.",
    "bn": 'মিল আছে এমন কোনো প্রক্রিয়া পাইনি। কী করতে চান একটু স্পষ্ট করে বলুন, যেমন "শিশুর জন্ম নিবন্ধন", অথবা কর্মীর সাহায্য নিন।',
}
STAFF_BUTTON = {"vi": "Gặp cán bộ", "en": "Talk to staff", "bn": "কর্মীর সাথে কথা বলুন"}
UNAVAILABLE = {
    "vi": "Xin lỗi, hệ thống tra cứu thủ tục tạm thời chưa sẵn sàng. Bạn vui lòng thử lại sau ít phút hoặc hỏi cán bộ tại quầy.",
    "en": "Sorry, the procedure search is temporarily unavailable. Please try again in a few minutes or ask staff at the counter.",
    "bn": "দুঃখিত, প্রক্রিয়া অনুসন্ধান সাময়িকভাবে বন্ধ আছে। কয়েক মিনিট পরে আবার চেষ্টা করুন বা কাউন্টারে কর্মীকে জিজ্ঞাসা করুন।",
}


class ActionAnswerProcedure(Action):
    """Search the catalogue for the question and answer with the procedure it names."""

    def __init__(self, retriever: Retriever | None = None) -> None:
        self._retriever = retriever  # tests pass their own; the real one is opened lazily

    def name(self) -> str:
        return "action_answer_procedure"

    def retriever(self) -> Retriever:
        return self._retriever or SHARED_RETRIEVER.get()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        lang = conversation_language(tracker)
        try:
            retriever = self.retriever()
        except KnowledgeUnavailable as exc:
            log.error("knowledge unavailable: %s", exc)
            dispatcher.utter_message(text=UNAVAILABLE[lang])
            return []

        aspect = ASPECT_OF_INTENT.get((tracker.latest_message.get("intent") or {}).get("name") or "", "all")
        chosen = next(tracker.get_latest_entity_values("procedure_code"), None)
        if chosen and chosen in retriever.records:
            return self._answer(dispatcher, retriever, chosen, lang, aspect)

        text = tracker.latest_message.get("text") or ""
        current = tracker.get_slot("procedure_code")
        if current in retriever.records and aspect != "all" and not names_something(text):
            return self._answer(dispatcher, retriever, current, lang, aspect)  # "how much is it?"
        result = retriever.search(text, k=5)
        if current in retriever.records and stays_on(current, result, aspect):
            return self._answer(dispatcher, retriever, current, lang, aspect)
        if result.verdict == UNKNOWN or result.best is None:
            dispatcher.utter_message(
                text=NOT_FOUND[lang],
                buttons=[{"title": STAFF_BUTTON[lang], "payload": "/request_human"}],
                json_message={"type": "not_found"},
            )
            return []
        if result.verdict == AMBIGUOUS:
            options = [h for h in result.hits[:3] if result.best.score - h.score < CHOICE_WITHIN]
            buttons = [
                {
                    "title": h.procedure.title.get(lang)[0],
                    "payload": f'/choose_procedure{{"procedure_code":"{h.code}"}}',
                }
                for h in options
            ]
            dispatcher.utter_message(
                text=CHOOSE[lang], buttons=buttons, json_message={"type": "choices", "codes": [h.code for h in options]}
            )
            return []
        return self._answer(dispatcher, retriever, result.best.code, lang, aspect)

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher, retriever: Retriever, code: str, lang: str, aspect: str = "all"
    ) -> list[dict[str, Any]]:
        text, card = procedure_answer(retriever.records[code], lang, aspect)
        dispatcher.utter_message(text=text, json_message=card)
        return [SlotSet("procedure_code", code)]


def stays_on(current: str, result: Result, aspect: str) -> bool:
    """Whether a question is a follow-up about the procedure in context rather than a new one."""
    if aspect == "all":
        return False  # "how do I ..." always starts afresh
    if result.verdict == UNKNOWN or result.best is None:
        return True  # nothing else named: "how much is it?"
    scores = {h.code: h.score for h in result.hits}
    return current in scores and scores[current] >= result.best.score - SWITCH_MARGIN
