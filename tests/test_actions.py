"""Actions answer with the right procedure, as text and as the `custom` card, in the citizen's language."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ValidateSlotMappings, conversation_language
from actions.procedures import ActionAnswerProcedure
from actions.render import procedure_answer
from knowledge import index as index_mod
from knowledge.catalog import load_catalog
from knowledge.retriever import KnowledgeUnavailable, Retriever, Thresholds
from knowledge.text import detect_language, fold, fold_bengali

pytestmark = pytest.mark.anyio


def make_tracker(
    text: str = "", slots: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None, intent: str = "ask_procedure",
) -> Tracker:  # fmt: skip
    latest = {"text": text, "intent": {"name": intent}, "entities": entities or []}
    events = [{"event": "user", "text": text, "metadata": metadata or {}, "parse_data": latest}]
    return Tracker("citizen-1", slots or {}, latest, events, False, None, {}, "action_listen")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


async def test_answers_with_procedure_card(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    events = await ActionAnswerProcedure(retriever).run(
        dispatcher, make_tracker("Đăng ký khai sinh cho trẻ mới sinh"), {}
    )
    assert events == [{"event": "slot", "timestamp": None, "name": "procedure_code", "value": "1.001193"}]
    [message] = dispatcher.messages
    card = message["custom"]
    assert card["type"] == "procedure" and card["code"] == "1.001193" and card["aspect"] == "all"
    assert "Đăng ký khai sinh (mã 1.001193)" in message["text"]
    assert "Lệ phí: Miễn phí" in message["text"]
    assert "1 ngày làm việc" in message["text"]


async def test_answers_in_the_kiosk_language(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker("Đăng ký khai sinh cho trẻ mới sinh", metadata={"lang": "en"})
    await ActionAnswerProcedure(retriever).run(dispatcher, tracker, {})
    text = dispatcher.messages[0]["text"]
    assert text.startswith("Birth registration (code 1.001193)")
    assert "Fee: Free" in text and "1 working days" in text


async def test_choice_button_picks_the_procedure(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker('/choose_procedure{"procedure_code":"2.000528"}', entities=[
        {"entity": "procedure_code", "value": "2.000528"}])  # fmt: skip
    events = await ActionAnswerProcedure(retriever).run(dispatcher, tracker, {})
    assert events[0]["value"] == "2.000528"
    assert dispatcher.messages[0]["custom"]["code"] == "2.000528"


async def test_ambiguous_question_offers_choices(settings, fake_encoder, dispatcher) -> None:  # type: ignore[no-untyped-def]
    records = load_catalog(settings.catalog_dir)
    version = index_mod.index_version(records)
    index_mod.build(records, fake_encoder, settings.index_dir, version)
    loaded = index_mod.load(settings.index_dir, fake_encoder.model_id, version, records)
    # Every hit counts as "close" here, so the verdict is ambiguous and three choices are offered.
    retriever = Retriever(
        records, fake_encoder, loaded, Thresholds(unknown_question_below=0.0, outside_margin=-2.0, ambiguous_within=1.0)
    )
    events = await ActionAnswerProcedure(retriever).run(
        dispatcher, make_tracker("đăng ký khai sinh", metadata={"lang": "en"}), {}
    )
    assert events == []
    [message] = dispatcher.messages
    codes = message["custom"]["codes"]
    assert message["custom"]["type"] == "choices" and 1 <= len(codes) <= 3
    assert message["text"] == "Which of these do you mean?"
    assert [b["payload"] for b in message["buttons"]] == [f'/choose_procedure{{"procedure_code":"{c}"}}' for c in codes]
    assert all(b["title"] == retriever.records[c].title.en for b, c in zip(message["buttons"], codes, strict=True))


async def test_unknown_question_says_so(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    events = await ActionAnswerProcedure(retriever).run(
        dispatcher, make_tracker("zzz qqq xxx", metadata={"lang": "vi"}), {}
    )
    assert events == []
    assert dispatcher.messages[0]["custom"] == {"type": "not_found"}
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/request_human"  # and offers staff
    assert "chưa tìm thấy" in dispatcher.messages[0]["text"]


async def test_knowledge_down_gives_polite_reply(dispatcher) -> None:  # type: ignore[no-untyped-def]
    class Broken(ActionAnswerProcedure):
        def retriever(self) -> Retriever:
            raise KnowledgeUnavailable("no knowledge index")

    events = await Broken().run(dispatcher, make_tracker("khai sinh", slots={"language": "en"}), {})
    assert events == []
    assert "temporarily unavailable" in dispatcher.messages[0]["text"]


def test_render_falls_back_to_vietnamese_with_a_note(retriever) -> None:  # type: ignore[no-untyped-def]
    record = retriever.records["1.001193"]
    stripped = record.model_copy(update={"summary": record.summary.model_copy(update={"en": None})})
    text, card = procedure_answer(stripped, "en")
    assert record.summary.vi in text and card["fell_back"]
    assert "only available in Vietnamese" in text


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("tôi muốn làm căn cước", "vi"),
        ("toi muon lam giay khai sinh cho con", "vi"),
        ("how do I get a passport", "en"),
        ("can I register my marriage online", "en"),
        # Too many abbreviations for the syllable check; the second opinion (langdetect) knows it.
        ("lam lltp tren vneid dc ko a, co phai len cong an tinh ko", "vi"),
        ("আমার সন্তানের জন্ম নিবন্ধন", "bn"),
        ("123", None),
    ],
)
def test_detect(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


def test_fold_strips_vietnamese_diacritics_only() -> None:
    assert fold("Đăng ký KHAI SINH") == "dang ky khai sinh"
    assert fold("জন্ম নিবন্ধন") == "জন্ম নিবন্ধন"


def test_fold_bengali_reads_common_spelling_slips_alike() -> None:
    written = ["সার্টিফিকেট", "শিশু", "মূল কপি", "জন্ম নিবন্ধন"]
    typed = ["সার্টীফিকেট", "সিশু", "মুল কপি", "জন্ম নিবন্\u200dধন"]
    assert [fold_bengali(t) for t in typed] == [fold_bengali(w) for w in written]
    assert fold_bengali("জন্ম") != fold_bengali("মৃত্যু")


async def test_language_slot_is_chosen_then_sticky(dispatcher) -> None:  # type: ignore[no-untyped-def]
    assert conversation_language(make_tracker("hello", metadata={"lang": "bn"})) == "bn"
    assert conversation_language(make_tracker("xin chào", slots={"language": "en"})) == "en"
    assert conversation_language(make_tracker("how much is it")) == "en"
    result = await ValidateSlotMappings().extract_language(
        dispatcher, make_tracker("khai sinh", metadata={"lang": "vi"}), {}
    )
    assert result == {"language": "vi"}


def make_question(text: str, intent: str, slots: dict[str, Any] | None = None, lang: str = "vi") -> Tracker:
    return make_tracker(text, slots=slots, metadata={"lang": lang}, intent=intent)


async def test_follow_up_answers_the_aspect_of_the_procedure_in_context(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    tracker = make_question("lệ phí bao nhiêu", "ask_fee", slots={"procedure_code": "1.001193"})
    events = await ActionAnswerProcedure(retriever).run(dispatcher, tracker, {})
    assert events[0]["value"] == "1.001193"
    [message] = dispatcher.messages
    assert message["custom"]["aspect"] == "fee" and message["custom"]["code"] == "1.001193"
    assert message["text"] == "Đăng ký khai sinh (mã 1.001193)\nLệ phí: Miễn phí (Miễn lệ phí khi đăng ký đúng hạn)"


async def test_follow_up_in_english_and_bengali(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    slots = {"procedure_code": "1.001193"}
    await ActionAnswerProcedure(retriever).run(
        dispatcher, make_question("how long does it take", "ask_processing_time", slots, "en"), {}
    )
    await ActionAnswerProcedure(retriever).run(
        dispatcher, make_question("কী কী কাগজ লাগবে", "ask_documents", slots, "bn"), {}
    )
    english, bengali = dispatcher.messages
    assert english["text"].endswith(
        "Processing time: 1 working days (Files received after 3 p.m. are returned the next working day)"
    )
    assert bengali["custom"]["aspect"] == "documents" and "প্রয়োজনীয় কাগজপত্র:" in bengali["text"]


async def test_question_naming_another_procedure_switches(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    tracker = make_question("Đăng ký kết hôn mất bao lâu", "ask_processing_time", slots={"procedure_code": "1.001193"})
    events = await ActionAnswerProcedure(retriever).run(dispatcher, tracker, {})
    assert events[0]["value"] != "1.001193"
    assert "kết hôn" in dispatcher.messages[0]["text"].lower()


async def test_aspect_question_without_context_or_match_says_not_found(retriever, dispatcher) -> None:  # type: ignore[no-untyped-def]
    events = await ActionAnswerProcedure(retriever).run(
        dispatcher, make_question("how much then", "ask_fee", lang="en"), {}
    )
    assert events == [] and dispatcher.messages[0]["custom"] == {"type": "not_found"}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("mất bao lâu vậy ạ", False),
        ("how much is it", False),
        ("can giay to gi", False),
        ("কত দিন লাগবে", False),
        ("làm hộ chiếu mất mấy ngày", True),
        ("where do I apply for a driving licence", True),
        ("পাসপোর্টের জন্য কী কাগজ লাগে", True),
    ],
)
def test_follow_up_detection(text: str, names: bool) -> None:
    from actions.followup import names_something

    assert names_something(text) is names
