"""Guided filing, status and handoff: validators, the app database, and the actions around them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import validators as v
from actions.conversation import ActionChooseLanguage, ActionFallback, named_language
from actions.filing import ActionCancelFiling, ActionStartFiling, ActionSubmitFiling, ValidateFilingForm
from actions.handoff import ActionRequestHuman, ActionSubmitHandoff, HoursError, OpeningHours
from actions.status import ActionCheckStatus, DatabaseStatusSource, find_reference, load_status_source
from actions.store import STATES, Store, StoreUnavailable, new_reference, normalise_reference
from knowledge.catalog import load_catalog
from knowledge.retriever import KnowledgeUnavailable
from tests.conftest import CATALOG, DRAFT_DETAILS

pytestmark = pytest.mark.anyio
TODAY = dt.date(2026, 11, 21)
ZONE = "Asia/Ho_Chi_Minh"


# -- validators ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dob", "expected"),
    [
        ("001090012345", None, "001090012345"),  # Hà Nội, male born 1990
        ("001 090 012 345", None, "001090012345"),
        ("079303012345", "2003-05-01", "079303012345"),  # HCMC, female born 2003
        ("00109001234", None, "length"),
        ("0010900123456", None, "length"),
        ("003090012345", None, "province"),  # 003 is no province code
        ("00109001234a", None, "not_digits"),
        ("001090012345", "1991-01-01", "dob_mismatch"),  # year digits say 90
        ("001290012345", "1990-01-01", "dob_mismatch"),  # century digit 2 means born 2000-2099
    ],
)
def test_cccd(text: str, dob: str | None, expected: str) -> None:
    checked = v.check_cccd(text, dob)
    assert (checked.value if checked.ok else checked.error) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/03/1990", "1990-03-15"),
        ("sinh ngày 5-3-1990 ạ", "1990-03-05"),
        ("1990-03-15", "1990-03-15"),
        ("31/02/1990", "no_such_date"),
        ("15/03/2030", "future"),
        ("01/01/1800", "too_old"),
        ("March 1990", "format"),
    ],
)
def test_date_of_birth(text: str, expected: str) -> None:
    checked = v.check_dob(text, today=TODAY)
    assert (checked.value if checked.ok else checked.error) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912345678", "0912345678"),
        ("091 234 5678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("84 912 345 678", "0912345678"),
        ("0241234567", "not_mobile"),  # a Hà Nội landline
        ("091234567", "length"),
        ("09123abc78", "not_digits"),
    ],
)
def test_phone(text: str, expected: str) -> None:
    checked = v.check_phone(text)
    assert (checked.value if checked.ok else checked.error) == expected


def test_names_places_and_delivery() -> None:
    assert v.check_full_name("  nguyễn   văn an ").value == "Nguyễn Văn An"
    assert v.check_full_name("An").error == "too_short"
    assert v.check_full_name("Nguyen Van 4").error == "has_digits"
    assert v.check_full_name("<script>x</script> y").error == "bad_characters"
    assert v.check_commune("Phường Đông Kinh").value == "Phường Đông Kinh"
    assert v.check_commune("123").error == "bad_characters"
    assert v.check_delivery("qua bưu điện").value == "post"
    assert v.check_delivery("nhan tai trung tam").value == "centre"
    assert v.check_delivery("centre").value == "centre"
    assert v.check_delivery("ডাকযোগে").value == "post"
    assert v.check_delivery("maybe").error == "choose"
    assert v.plainly_a_name("Lê Văn An") and v.plainly_a_name("Le Van An") and v.plainly_a_name("nguyễn thị bình")
    assert not v.plainly_a_name("lệ phí bao nhiêu") and not v.plainly_a_name("le phi bao nhieu")
    assert v.plainly_a_place("Phường Đông Kinh") and not v.plainly_a_place("mất bao lâu")


def test_masking_hides_identity_and_phone_numbers() -> None:
    masked = v.mask_personal("CCCD 001090012345, phone 0912345678 or +84912345678")
    assert "001090012345" not in masked and "0912345678" not in masked and "912345678" not in masked
    assert "001******345" in masked and "091****678" in masked


# -- the app database ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'app.db'}")


DETAILS = DRAFT_DETAILS


def test_references_are_short_mixed_and_unambiguous() -> None:
    refs = {new_reference() for _ in range(500)}
    assert len(refs) == 500
    for ref in refs:
        assert len(ref) == 8 and not set(ref) & set("IL O01")
        assert any(c.isdigit() for c in ref) and any(c.isalpha() for c in ref)
        assert find_reference(f"kiểm tra hồ sơ {ref.lower()} giúp tôi") == ref
    assert normalise_reference(" k7q2-m9xd ") == "K7Q2M9XD"
    assert find_reference("my phone is 0912345678 and my id 001090012345") is None
    assert find_reference("PASSPORT") is None  # a word, not a code


def test_draft_life_cycle_with_history(store: Store) -> None:
    draft = store.create_draft(**DETAILS)
    assert draft.state == "draft"
    assert store.get_draft(draft.reference.lower()) == draft
    updated = store.set_state(draft.reference, "ready", "Mời đến nhận kết quả tại quầy 3", actor="staff-a")
    assert (updated.state, updated.note) == ("ready", "Mời đến nhận kết quả tại quầy 3")
    with pytest.raises(ValueError, match="unknown state"):
        store.set_state(draft.reference, "lost", "", actor="staff-a")
    with pytest.raises(KeyError):
        store.set_state("ZZZZ2222", "done", "", actor="staff-a")
    assert [d.reference for d in store.drafts(state="ready")] == [draft.reference]
    assert store.get_draft("ZZZZ2222") is None
    assert STATES == ("draft", "received", "processing", "ready", "done")


def test_a_failed_write_saves_nothing(store: Store) -> None:
    with pytest.raises(StoreUnavailable):
        store.create_draft(**{**DETAILS, "full_name": None})  # NOT NULL: the database refuses
    assert store.drafts() == []


def test_unreachable_database_raises_store_unavailable() -> None:
    store = Store("postgresql+psycopg2://nobody@127.0.0.1:9/none?connect_timeout=1")
    with pytest.raises(StoreUnavailable) as info:
        store.create_draft(**DETAILS)
    assert "127.0.0.1" in str(info.value) and "nobody@" in str(info.value)  # no password to hide


def test_handoff_tickets_count_up_and_carry_staff_messages(store: Store) -> None:
    first = store.open_handoff("citizen-1", "kiosk", "vi")
    again = store.open_handoff("citizen-1", "kiosk", "vi")
    second = store.open_handoff("citizen-2", "portal", "en", callback_phone="0912345678")
    assert (first.ticket, again.ticket, second.ticket) == (1, 1, 2)
    store.post_staff_message(first.id, "staff-a", "Tôi đang đến quầy số 2")
    assert store.take_staff_messages("citizen-1") == [("staff-a", "Tôi đang đến quầy số 2")]
    assert store.take_staff_messages("citizen-1") == []  # delivered once
    assert store.take_staff_messages("citizen-2") == []  # never another conversation's
    store.close_handoff(first.id)
    with pytest.raises(KeyError):
        store.post_staff_message(first.id, "staff-a", "late")
    assert [h.ticket for h in store.open_handoffs()] == [2]


# -- actions ------------------------------------------------------------------------------------


def make_tracker(
    text: str = "", slots: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
    intent: str = "nlu_fallback", confidence: float = 0.9, entities: list[dict[str, Any]] | None = None,
    previous_intent: str | None = None,
) -> Tracker:  # fmt: skip
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities or []}
    events: list[dict[str, Any]] = []
    if previous_intent:
        events.append({"event": "user", "text": "…", "parse_data": {"intent": {"name": previous_intent}}})
        events.append({"event": "action", "name": "action_fallback"})
    events.append({"event": "user", "text": text, "metadata": metadata or {}, "parse_data": latest})
    return Tracker("citizen-1", slots or {}, latest, events, False, None, {}, "action_listen")


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_start_filing_shows_the_checklist_of_the_procedure_in_context(retriever) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("tôi muốn nộp hồ sơ", slots={"procedure_code": "1.001193"}, intent="start_filing")
    events = await ActionStartFiling(retriever).run(dispatcher, tracker, {})
    assert slot_events(events)["filing_code"] == "1.001193"
    checklist = dispatcher.messages[1]["custom"]
    assert checklist["type"] == "procedure" and checklist["aspect"] == "documents" and checklist["checklist"]
    assert "Tờ khai đăng ký khai sinh" in dispatcher.messages[1]["text"]


async def test_start_filing_stays_on_the_procedure_in_context_unless_another_is_named(retriever) -> None:  # type: ignore[no-untyped-def]
    passport = {"procedure_code": "1.001456"}
    for text in ("I want to apply now", "tôi muốn nộp hồ sơ luôn", "আবেদন শুরু করতে চাই"):
        events = await ActionStartFiling(retriever).run(CollectingDispatcher(), make_tracker(text, slots=passport), {})
        assert slot_events(events)["filing_code"] == "1.001456", text
    named = make_tracker("tôi muốn nộp hồ sơ Đăng ký khai sinh", slots=passport)
    events = await ActionStartFiling(retriever).run(CollectingDispatcher(), named, {})
    assert slot_events(events)["filing_code"] == "1.001193"


async def test_start_filing_without_a_procedure_asks_which(retriever) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = await ActionStartFiling(retriever).run(
        dispatcher, make_tracker("I want to apply now", metadata={"lang": "en"}), {}
    )
    assert slot_events(events) == {"filing_code": None}
    assert dispatcher.messages[0]["text"].startswith("Which procedure")


async def run_validation(slot: str, text: str, slots: dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, slots={"requested_slot": slot, **(slots or {})}, **kw)
    form = ValidateFilingForm()
    extracted = await getattr(form, f"extract_{slot}")(dispatcher, tracker, {})
    if not extracted:
        return None, dispatcher
    result = await getattr(form, f"validate_{slot}")(extracted[slot], dispatcher, tracker, {})
    return result, dispatcher


async def test_form_accepts_a_valid_answer_and_explains_a_wrong_one() -> None:
    result, dispatcher = await run_validation("cccd", "001 090 012 345")
    assert result["cccd"] == "001090012345" and not dispatcher.messages
    result, dispatcher = await run_validation("cccd", "12345", metadata={"lang": "en"})
    assert result["cccd"] is None and result["filing_failures"] == {"cccd": 1}
    assert dispatcher.messages[0]["text"] == "The citizen ID (CCCD) number must have exactly 12 digits."
    assert not dispatcher.messages[0]["buttons"]


async def test_second_failure_explains_the_field_and_offers_staff() -> None:
    result, dispatcher = await run_validation("phone", "12345", slots={"filing_failures": {"phone": 1}})
    assert result["filing_failures"] == {"phone": 2}
    message = dispatcher.messages[0]
    assert "10 chữ số bắt đầu bằng 0" in message["text"]
    assert message["buttons"] == [{"title": "Gặp cán bộ", "payload": "/request_human"}]


async def test_date_of_birth_must_agree_with_the_id_number() -> None:
    result, dispatcher = await run_validation("dob", "15/03/1991", slots={"cccd": "001090012345"})
    assert result["dob"] is None and "không khớp" in dispatcher.messages[0]["text"]
    result, _ = await run_validation("dob", "15/03/1990", slots={"cccd": "001090012345"})
    assert result["dob"] == "1990-03-15"


async def test_a_question_or_stop_interrupts_the_form_instead_of_filling_it() -> None:
    assert (await run_validation("applicant_name", "lệ phí bao nhiêu", intent="ask_fee"))[0] is None
    assert (await run_validation("phone", "hủy", intent="stop"))[0] is None
    # A valid answer wins even when NLU guessed a question intent.
    result, _ = await run_validation("phone", "0912345678", intent="check_status")
    assert result["phone"] == "0912345678"
    # A name that starts with a family name is a name, even when NLU is sure it is something else.
    result, _ = await run_validation("applicant_name", "Nguyễn Văn An", intent="request_human", confidence=0.99)
    assert result["applicant_name"] == "Nguyễn Văn An"
    result, _ = await run_validation("commune", "phuong Dong Kinh", intent="ask_where_to_file", confidence=0.99)
    assert result["commune"] == "phuong Dong Kinh"
    # Low confidence: the text is taken as the answer (and checked).
    result, _ = await run_validation("applicant_name", "Trần Thị Bình", intent="ask_fee", confidence=0.3)
    assert result["applicant_name"] == "Trần Thị Bình"


FILLED = {
    "language": "vi",
    "filing_code": "1.001193",
    "applicant_name": "Nguyễn Văn An",
    "cccd": "001090012345",
    "dob": "1990-03-15",
    "phone": "0912345678",
    "commune": "Phường Đông Kinh",
    "delivery": "post",
}


async def test_submit_saves_a_draft_and_replies_with_reference_qr_and_steps(retriever, store) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("post", slots=FILLED, metadata={"lang": "en", "channel": "kiosk"})
    events = await ActionSubmitFiling(retriever, store).run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    custom = message["custom"]
    assert custom["type"] == "filing_draft" and custom["code"] == "1.001193"
    draft = store.get_draft(custom["reference"])
    assert draft is not None and draft.cccd == "001090012345" and draft.delivery == "post"
    assert custom["qr"] == f"/qr/{draft.reference}.svg"
    assert custom["reference"] in message["text"] and "VNeID" in message["text"]
    assert "001090012345" not in message["text"] and "001******345" in message["text"]
    # The details leave the conversation once saved.
    assert all(slot_events(events)[slot] is None for slot in FILLED if slot != "language")


async def test_submit_for_a_procedure_not_online_says_where_to_go(retriever, store) -> None:  # type: ignore[no-untyped-def]
    offline = next(r for r in retriever.records.values() if r.channels.online.value == "none")
    dispatcher = CollectingDispatcher()
    await ActionSubmitFiling(retriever, store).run(
        dispatcher, make_tracker("centre", slots={**FILLED, "filing_code": offline.code}), {}
    )
    message = dispatcher.messages[0]
    assert "chưa nộp trực tuyến" in message["text"] and "VNeID" not in message["text"]
    assert message["custom"]["qr"] is None or offline.channels.portal_url


async def test_submit_when_the_database_is_down_saves_nothing_and_keeps_the_details(retriever) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    down = Store("postgresql+psycopg2://nobody@127.0.0.1:9/none?connect_timeout=1")
    events = await ActionSubmitFiling(retriever, down).run(dispatcher, make_tracker("post", slots=FILLED), {})
    assert dispatcher.messages[0]["custom"] == {"type": "error", "code": "draft_not_saved"}
    assert "chưa có gì được lưu" in dispatcher.messages[0]["text"]
    assert "applicant_name" not in slot_events(events)


async def test_cancel_clears_the_form() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionCancelFiling().run(dispatcher, make_tracker("cancel", metadata={"lang": "en"}), {})
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    assert slot_events(events)["cccd"] is None and dispatcher.messages[0]["text"].startswith("Cancelled")


async def test_status_of_a_draft_as_staff_set_it(store) -> None:  # type: ignore[no-untyped-def]
    draft = store.create_draft(**DETAILS)
    store.set_state(draft.reference, "processing", "Đang xác minh", actor="staff-a")
    dispatcher = CollectingDispatcher()
    action = ActionCheckStatus(DatabaseStatusSource(store))
    await action.run(dispatcher, make_tracker(f"check status {draft.reference.lower()}", metadata={"lang": "en"}), {})
    message = dispatcher.messages[0]
    assert message["custom"] == {
        "type": "status",
        "reference": draft.reference,
        "state": "processing",
        "note": "Đang xác minh",
    }
    assert "being processed" in message["text"] and "Đang xác minh" in message["text"]
    assert "001090012345" not in message["text"]

    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker("hồ sơ ZZZZ2222 đến đâu rồi"), {})
    assert "Không tìm thấy hồ sơ có mã ZZZZ2222" in dispatcher.messages[0]["text"]
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker("hồ sơ của tôi xong chưa"), {})
    assert "mã tra cứu" in dispatcher.messages[0]["text"]


class ProvinceSystem:
    """A stand-in for a province's one-stop system, plugged in by ASSIST_STATUS_SOURCE."""

    def lookup(self, reference: str):  # type: ignore[no-untyped-def]
        from actions.status import StatusReport

        return StatusReport(reference, "ready", "", "1.001193", "Đăng ký khai sinh", dt.datetime(2026, 1, 1))


async def test_status_names_the_procedure_in_the_citizens_language(store) -> None:  # type: ignore[no-untyped-def]
    draft = store.create_draft(**DETAILS)
    records = {r.code: r for r in load_catalog(CATALOG)}
    record = records[draft.procedure_code]
    action = ActionCheckStatus(DatabaseStatusSource(store), records)
    for lang in ("en", "bn"):
        dispatcher = CollectingDispatcher()
        await action.run(dispatcher, make_tracker(f"status {draft.reference}", metadata={"lang": lang}), {})
        title = getattr(record.title, lang)
        assert title and title in dispatcher.messages[0]["text"]
        assert draft.procedure_title not in dispatcher.messages[0]["text"]


def test_status_source_is_pluggable() -> None:
    assert isinstance(load_status_source("tests.test_filing:ProvinceSystem"), ProvinceSystem)
    with pytest.raises(Exception, match="ASSIST_STATUS_SOURCE"):
        load_status_source("no.such.module:Thing")


def test_opening_hours() -> None:
    hours = OpeningHours.parse("mon-fri 07:30-11:30 13:30-17:00; sat 07:30-11:30", ZONE)
    local = lambda *a: dt.datetime(*a, tzinfo=hours.zone)  # noqa: E731
    assert hours.is_open(local(2026, 11, 23, 9, 0))  # Monday morning
    assert not hours.is_open(local(2026, 11, 23, 12, 0))  # lunch
    assert not hours.is_open(local(2026, 11, 22, 9, 0))  # Sunday
    assert hours.next_opening(local(2026, 11, 21, 12, 0)) == local(2026, 11, 23, 7, 30)  # Saturday noon -> Monday
    assert "Monday: 07:30–11:30, 13:30–17:00" in hours.describe("en")
    with pytest.raises(HoursError, match="ASSIST_OPENING_HOURS"):
        OpeningHours.parse("weekdays 8-5")


ALWAYS = OpeningHours.parse("mon-sun 00:00-23:59", ZONE)
NEVER = OpeningHours.parse("mon 00:00-00:01", ZONE)


async def test_kiosk_handoff_gives_a_ticket(store) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("gặp cán bộ", metadata={"channel": "kiosk"}, intent="request_human")
    events = await ActionRequestHuman(store, ALWAYS).run(dispatcher, tracker, {})
    assert slot_events(events) == {"needs_callback_phone": False}
    assert dispatcher.messages[0]["custom"] == {"type": "handoff", "ticket": 1}
    assert "Số thứ tự của bạn là 1" in dispatcher.messages[0]["text"]
    assert [h.sender_id for h in store.open_handoffs()] == ["citizen-1"]


async def test_kiosk_handoff_outside_hours_says_when_staff_are_back(store) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("talk to a person", metadata={"channel": "kiosk", "lang": "en"}, intent="request_human")
    await ActionRequestHuman(store, NEVER).run(dispatcher, tracker, {})
    assert "Staff are back on Monday" in dispatcher.messages[0]["text"]
    assert dispatcher.messages[0]["custom"]["ticket"] is None and store.open_handoffs() == []


async def test_portal_handoff_takes_a_callback_number(store) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman(store, ALWAYS).run(
        dispatcher, make_tracker("I want a person", intent="request_human"), {}
    )
    assert slot_events(events) == {"needs_callback_phone": True}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("0912345678", slots={"callback_phone": "0912345678"}, metadata={"lang": "en"})
    await ActionSubmitHandoff(store).run(dispatcher, tracker, {})
    [handoff] = store.open_handoffs()
    assert handoff.channel == "portal" and handoff.callback_phone == "0912345678"
    assert dispatcher.messages[0]["custom"] == {"type": "handoff", "ticket": handoff.ticket}
    assert "0912345678" not in dispatcher.messages[0]["text"]


async def test_fallback_asks_to_rephrase_then_offers_staff(retriever) -> None:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    assert await ActionFallback(retriever).run(dispatcher, make_tracker("asdf qwer", metadata={"lang": "en"}), {}) == []
    assert dispatcher.messages[0]["custom"] == {"type": "fallback", "stage": 1}
    dispatcher = CollectingDispatcher()
    await ActionFallback(retriever).run(
        dispatcher, make_tracker("zxcv", metadata={"lang": "en"}, previous_intent="nlu_fallback"), {}
    )
    assert dispatcher.messages[0]["custom"] == {"type": "fallback", "stage": 2}
    assert dispatcher.messages[0]["buttons"][0] == {"title": "Talk to staff", "payload": "/request_human"}


async def test_fallback_hands_a_procedure_name_to_the_answer(retriever) -> None:  # type: ignore[no-untyped-def]
    """A bare name the NLU cannot place ("giấy khai sinh") is still a question the catalogue answers."""
    dispatcher = CollectingDispatcher()
    events = await ActionFallback(retriever).run(dispatcher, make_tracker("giấy khai sinh"), {})
    assert events == [{"event": "followup", "timestamp": None, "name": "action_answer_procedure"}]
    assert dispatcher.messages == []
    # A button payload is never searched.
    events = await ActionFallback(retriever).run(dispatcher, make_tracker("/khai_sinh"), {})
    assert events == [] and dispatcher.messages[0]["custom"]["stage"] == 1


async def test_fallback_after_an_answer_it_found_asks_to_rephrase_first(retriever) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker("zxcv", metadata={"lang": "en"})
    tracker.events[:0] = [
        {"event": "user", "text": "giấy khai sinh", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_fallback"},
        {"event": "action", "name": "action_answer_procedure"},
        {"event": "action", "name": "action_listen"},
    ]
    dispatcher = CollectingDispatcher()
    await ActionFallback(retriever).run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["custom"] == {"type": "fallback", "stage": 1}


async def test_fallback_without_knowledge_still_asks_to_rephrase() -> None:
    class Down:
        def search(self, text: str, k: int = 5) -> None:
            raise KnowledgeUnavailable("no knowledge index")

    dispatcher = CollectingDispatcher()
    events = await ActionFallback(Down()).run(dispatcher, make_tracker("giấy khai sinh"), {})  # type: ignore[arg-type]
    assert events == [] and dispatcher.messages[0]["custom"] == {"type": "fallback", "stage": 1}


async def test_choose_language_switches_and_sticks() -> None:
    assert named_language("English please") == "en"
    assert named_language("noi tieng viet di") == "vi"
    assert named_language("বাংলায় বলুন") == "bn"
    assert named_language("hello") is None
    dispatcher = CollectingDispatcher()
    events = await ActionChooseLanguage().run(dispatcher, make_tracker("Can you speak English?"), {})
    assert slot_events(events) == {"language": "en"}
    assert dispatcher.messages[0]["custom"] == {"type": "language", "lang": "en"}
