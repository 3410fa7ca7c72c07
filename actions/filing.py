"""Guided online filing: the checklist, the applicant's details (filing_form), the saved draft.

The form asks in this order: full name, CCCD number, date of birth, phone, commune/ward, result
delivery. Each answer is checked (actions/validators.py); a failure says what is wrong, and a second
failure on the same field explains the field and offers staff. "stop" / "hủy" / "cancel" ends the
form, and a question asked in between is answered before the form asks again (rules in bot/).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import validators as v
from actions.followup import names_something
from actions.language import conversation_language, latest_metadata
from actions.procedures import SHARED_RETRIEVER, STAFF_BUTTON
from actions.render import Writer, procedure_answer, where_text
from actions.store import StoreUnavailable, shared_store
from knowledge.retriever import CLEAR, KnowledgeUnavailable, Retriever
from knowledge.schema import OnlineLevel, Procedure

log = logging.getLogger(__name__)

FIELDS = ("applicant_name", "cccd", "dob", "phone", "commune", "delivery")
# Intents that interrupt the form instead of answering it, when the text is not a valid answer.
INTERRUPTIONS = frozenset(
    {
        "stop",
        "request_human",
        "ask_documents",
        "ask_fee",
        "ask_processing_time",
        "ask_where_to_file",
        "ask_online",
        "ask_procedure",
        "ask_centre_info",
        "bot_challenge",
        "choose_language",
    }
)
INTERRUPT_CONFIDENCE = 0.6
STRUCTURED = frozenset({"cccd", "dob", "phone", "delivery"})
FAILURES_BEFORE_HELP = 2

# Words of "I want to file it now" that say nothing about which procedure (folded Vietnamese).
FILING_WORDS = frozenset(
    """
    muon nop ho so luon bay gio ngay lam giup dien don to khai dang ky bat dau online truc tuyen di nha
    want apply now start fill application form please help register submit right away today let us lets
    চাই আবেদন শুরু এখনই করতে করুন ফর্ম পূরণ জমা দিতে সাহায্য
    """.split()
)
ASK_WHICH = {
    "vi": 'Bạn muốn nộp hồ sơ thủ tục nào? Hãy hỏi tôi về thủ tục đó trước, ví dụ "làm hộ chiếu".',
    "en": 'Which procedure do you want to file? Ask me about it first, for example "apply for a passport".',
    "bn": 'কোন প্রক্রিয়ার আবেদন করতে চান? আগে সেটি সম্পর্কে জিজ্ঞাসা করুন, যেমন "পাসপোর্টের আবেদন"।',
}
START = {
    "vi": 'Hãy chuẩn bị các giấy tờ dưới đây. Tôi sẽ hỏi vài thông tin để lập hồ sơ nháp cho thủ tục {title}. Gõ "hủy" bất cứ lúc nào để dừng.',
    "en": 'Please have the documents below ready. I will ask a few details to prepare a draft application for {title}. Type "cancel" at any time to stop.',
    "bn": 'নিচের কাগজপত্র তৈরি রাখুন। {title}-এর খসড়া আবেদন তৈরি করতে কয়েকটি তথ্য জিজ্ঞাসা করব। যেকোনো সময় থামাতে "বাতিল" লিখুন।',
}
CANCELLED = {
    "vi": "Đã hủy, tôi không lưu thông tin nào. Bạn cần hỏi gì thêm không?",
    "en": "Cancelled; nothing was saved. Is there anything else I can help with?",
    "bn": "বাতিল করা হয়েছে; কিছুই সংরক্ষণ করা হয়নি। আর কিছু জানতে চান?",
}
SAVE_FAILED = {
    "vi": "Xin lỗi, hệ thống chưa lưu được hồ sơ nháp (chưa có gì được lưu). Bạn thử lại sau ít phút hoặc nhờ cán bộ tại quầy.",
    "en": "Sorry, the draft could not be saved (nothing was saved). Please try again in a few minutes or ask staff at the counter.",
    "bn": "দুঃখিত, খসড়াটি সংরক্ষণ করা যায়নি (কিছুই সংরক্ষিত হয়নি)। কয়েক মিনিট পরে আবার চেষ্টা করুন বা কাউন্টারে কর্মীর সাহায্য নিন।",
}
RETRY = {"vi": "Thử lại", "en": "Try again", "bn": "আবার চেষ্টা করুন"}

ERRORS: dict[str, dict[str, dict[str, str]]] = {
    "applicant_name": {
        "empty": {"vi": "Bạn chưa nhập họ tên.", "en": "The name is empty.", "bn": "নাম খালি।"},
        "has_digits": {
            "vi": "Họ tên không được có chữ số.",
            "en": "A name cannot contain digits.",
            "bn": "নামে সংখ্যা থাকতে পারে না।",
        },
        "bad_characters": {
            "vi": "Họ tên chỉ gồm chữ cái.",
            "en": "A name can only contain letters.",
            "bn": "নামে শুধু অক্ষর থাকতে পারে।",
        },
        "too_short": {
            "vi": "Vui lòng nhập đầy đủ họ và tên (ít nhất hai chữ), ví dụ Nguyễn Văn An.",
            "en": "Please give your full name (family and given name), for example Nguyen Van An.",
            "bn": "পুরো নাম লিখুন (পারিবারিক নাম ও নিজের নাম), যেমন Nguyen Van An।",
        },
        "too_long": {"vi": "Họ tên quá dài.", "en": "That name is too long.", "bn": "নামটি খুব লম্বা।"},
    },
    "cccd": {
        "not_digits": {
            "vi": "Số căn cước chỉ gồm chữ số.",
            "en": "The ID card number has digits only.",
            "bn": "পরিচয়পত্র নম্বরে শুধু সংখ্যা থাকে।",
        },
        "length": {
            "vi": "Số căn cước phải có đúng 12 chữ số.",
            "en": "The citizen ID (CCCD) number must have exactly 12 digits.",
            "bn": "নাগরিক পরিচয়পত্র (CCCD) নম্বরে ঠিক ১২টি সংখ্যা থাকতে হবে।",
        },
        "province": {
            "vi": "3 chữ số đầu của số căn cước không phải mã tỉnh hợp lệ. Bạn kiểm tra lại trên thẻ.",
            "en": "The first 3 digits are not a valid province code. Please check the number on the card.",
            "bn": "প্রথম ৩টি সংখ্যা বৈধ প্রদেশ কোড নয়। কার্ডে নম্বরটি আবার দেখুন।",
        },
        "dob_mismatch": {
            "vi": "Số căn cước không khớp với năm sinh (chữ số thứ 4 và thứ 5–6 ghi thế kỷ và năm sinh). Bạn kiểm tra lại.",
            "en": "The ID number does not match the date of birth (digits 4 to 6 encode the year of birth). Please check it.",
            "bn": "পরিচয়পত্র নম্বর জন্মতারিখের সাথে মিলছে না (৪র্থ থেকে ৬ষ্ঠ সংখ্যা জন্মসাল বোঝায়)। আবার দেখুন।",
        },
    },
    "dob": {
        "format": {
            "vi": "Tôi chưa đọc được ngày sinh. Hãy nhập theo dạng ngày/tháng/năm, ví dụ 15/03/1990.",
            "en": "I could not read the date. Please write it as day/month/year, for example 15/03/1990.",
            "bn": "তারিখটি পড়া যায়নি। দিন/মাস/বছর আকারে লিখুন, যেমন 15/03/1990।",
        },
        "no_such_date": {
            "vi": "Ngày này không có trong lịch. Bạn kiểm tra lại ngày và tháng.",
            "en": "That date does not exist. Please check the day and month.",
            "bn": "এই তারিখটি ক্যালেন্ডারে নেই। দিন ও মাস আবার দেখুন।",
        },
        "future": {
            "vi": "Ngày sinh không thể ở tương lai.",
            "en": "The date of birth cannot be in the future.",
            "bn": "জন্মতারিখ ভবিষ্যতে হতে পারে না।",
        },
        "too_old": {
            "vi": "Ngày sinh này quá xa. Bạn kiểm tra lại năm sinh.",
            "en": "That date is too long ago. Please check the year.",
            "bn": "তারিখটি অনেক পুরনো। সালটি আবার দেখুন।",
        },
        "dob_mismatch": {
            "vi": "Năm sinh không khớp với số căn cước đã nhập (chữ số thứ 4–6). Bạn kiểm tra lại.",
            "en": "This year of birth does not match the ID number you gave (digits 4 to 6). Please check it.",
            "bn": "এই জন্মসাল আপনার দেওয়া পরিচয়পত্র নম্বরের (৪র্থ-৬ষ্ঠ সংখ্যা) সাথে মেলে না। আবার দেখুন।",
        },
    },
    "phone": {
        "not_digits": {
            "vi": "Số điện thoại chỉ gồm chữ số.",
            "en": "A phone number has digits only.",
            "bn": "ফোন নম্বরে শুধু সংখ্যা থাকে।",
        },
        "length": {
            "vi": "Số di động Việt Nam có 10 chữ số, ví dụ 0912345678.",
            "en": "A Vietnamese mobile number has 10 digits, for example 0912345678.",
            "bn": "ভিয়েতনামের মোবাইল নম্বরে ১০টি সংখ্যা থাকে, যেমন 0912345678।",
        },
        "not_mobile": {
            "vi": "Đây không phải số di động Việt Nam (đầu số 03, 05, 07, 08, 09).",
            "en": "That is not a Vietnamese mobile number (they start with 03, 05, 07, 08 or 09).",
            "bn": "এটি ভিয়েতনামের মোবাইল নম্বর নয় (শুরু হয় 03, 05, 07, 08 বা 09 দিয়ে)।",
        },
    },
    "commune": {
        "empty": {
            "vi": "Bạn chưa nhập xã/phường.",
            "en": "The commune or ward is empty.",
            "bn": "কমিউন/ওয়ার্ড খালি।",
        },
        "too_long": {"vi": "Tên xã/phường quá dài.", "en": "That is too long.", "bn": "এটি খুব লম্বা।"},
        "bad_characters": {
            "vi": "Hãy nhập tên xã/phường, ví dụ Phường Đông Kinh.",
            "en": "Please type the name of the commune or ward, for example Dong Kinh ward.",
            "bn": "কমিউন বা ওয়ার্ডের নাম লিখুন, যেমন Dong Kinh ward।",
        },
    },
    "delivery": {
        "choose": {
            "vi": "Bạn chọn một trong hai: nhận tại trung tâm hoặc gửi qua bưu điện.",
            "en": "Please choose one: collect at the centre, or by post.",
            "bn": "একটি বেছে নিন: কেন্দ্র থেকে সংগ্রহ, অথবা ডাকযোগে।",
        }
    },
}
# After two failures on a field: what the field is and where to find it.
EXPLAIN = {
    "applicant_name": {
        "vi": "Họ tên là tên đầy đủ như trên căn cước, gồm họ, tên đệm và tên.",
        "en": "Your full name is the name exactly as on your ID card: family name, middle and given names.",
        "bn": "পুরো নাম মানে আপনার পরিচয়পত্রে যেমন লেখা আছে: পারিবারিক নাম, মধ্য নাম ও নিজের নাম।",
    },
    "cccd": {
        "vi": "Số căn cước (CCCD) là dãy 12 chữ số in ở mặt trước thẻ căn cước, dưới ảnh.",
        "en": "The CCCD number is the 12-digit number printed on the front of the Vietnamese citizen ID card.",
        "bn": "CCCD নম্বর হলো ভিয়েতনামের নাগরিক পরিচয়পত্রের সামনে ছাপা ১২ অঙ্কের নম্বর।",
    },
    "dob": {
        "vi": "Ngày sinh ghi trên căn cước, nhập dạng ngày/tháng/năm, ví dụ 05/11/1987.",
        "en": "Your date of birth as on your ID card, written day/month/year, for example 05/11/1987.",
        "bn": "পরিচয়পত্রে লেখা জন্মতারিখ, দিন/মাস/বছর আকারে, যেমন 05/11/1987।",
    },
    "phone": {
        "vi": "Số điện thoại di động để cơ quan liên hệ khi có kết quả, 10 chữ số bắt đầu bằng 0.",
        "en": "A mobile number the office can call about your result: 10 digits starting with 0.",
        "bn": "একটি মোবাইল নম্বর যাতে অফিস ফলাফলের বিষয়ে যোগাযোগ করতে পারে: ০ দিয়ে শুরু ১০ সংখ্যা।",
    },
    "commune": {
        "vi": "Tên xã hoặc phường nơi bạn đang cư trú.",
        "en": "The name of the commune or ward where you live now.",
        "bn": "আপনি এখন যে কমিউন বা ওয়ার্ডে থাকেন তার নাম।",
    },
    "delivery": {
        "vi": "Chọn nơi nhận kết quả: đến lấy tại trung tâm, hoặc nhận qua bưu điện tại nhà.",
        "en": "Choose how to get the result: collect it at the centre, or receive it at home by post.",
        "bn": "ফলাফল কীভাবে নেবেন বেছে নিন: কেন্দ্র থেকে সংগ্রহ, অথবা ডাকযোগে বাড়িতে।",
    },
}
HELP_OFFER = {
    "vi": "Nếu cần, cán bộ có thể giúp bạn.",
    "en": "If you like, a member of staff can help you.",
    "bn": "চাইলে একজন কর্মী আপনাকে সাহায্য করতে পারেন।",
}

ASK = {
    "applicant_name": {
        "vi": "Họ và tên người nộp hồ sơ (như trên căn cước) là gì?",
        "en": "What is the applicant's full name, as on the ID card?",
        "bn": "আবেদনকারীর পুরো নাম কী (পরিচয়পত্রে যেমন আছে)?",
    },
    "cccd": {
        "vi": "Số căn cước (CCCD) gồm 12 chữ số là gì?",
        "en": "What is the 12-digit citizen ID (CCCD) number?",
        "bn": "১২ অঙ্কের নাগরিক পরিচয়পত্র (CCCD) নম্বরটি কী?",
    },
    "dob": {
        "vi": "Ngày sinh (ngày/tháng/năm)?",
        "en": "Date of birth (day/month/year)?",
        "bn": "জন্মতারিখ (দিন/মাস/বছর)?",
    },
    "phone": {
        "vi": "Số điện thoại di động để cơ quan liên hệ?",
        "en": "A mobile number where the office can reach you?",
        "bn": "যে মোবাইল নম্বরে অফিস আপনার সাথে যোগাযোগ করতে পারবে?",
    },
    "commune": {
        "vi": "Bạn đang cư trú ở xã/phường nào?",
        "en": "Which commune or ward do you live in?",
        "bn": "আপনি কোন কমিউন বা ওয়ার্ডে থাকেন?",
    },
    "delivery": {
        "vi": "Bạn muốn nhận kết quả thế nào?",
        "en": "How would you like to receive the result?",
        "bn": "ফলাফল কীভাবে নিতে চান?",
    },
    "callback_phone": {
        "vi": "Bạn để lại số điện thoại di động, cán bộ sẽ gọi lại cho bạn.",
        "en": "Please leave a mobile number and a member of staff will call you back.",
        "bn": "একটি মোবাইল নম্বর দিন, একজন কর্মী আপনাকে ফোন করবেন।",
    },
}
# The delivery buttons send a language-neutral word that check_delivery understands.
DELIVERY_BUTTONS = {
    "vi": [("Nhận tại trung tâm", "centre"), ("Qua bưu điện", "post")],
    "en": [("Collect at the centre", "centre"), ("By post", "post")],
    "bn": [("কেন্দ্র থেকে সংগ্রহ", "centre"), ("ডাকযোগে", "post")],
}


def _ask_action(slot: str) -> type[Action]:
    """action_ask_<slot>: asks for one field of a form in the conversation's language."""

    async def run(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        lang = conversation_language(tracker)
        buttons = [{"title": t, "payload": p} for t, p in DELIVERY_BUTTONS[lang]] if slot == "delivery" else []
        dispatcher.utter_message(text=ASK[slot][lang], buttons=buttons, json_message={"type": "ask", "slot": slot})
        return []

    return type(f"ActionAsk_{slot}", (Action,), {"name": lambda self: f"action_ask_{slot}", "run": run})


# One class per question, as Rasa looks them up by name (the forms' slots and callback_phone).
ASK_ACTIONS = [_ask_action(slot) for slot in ASK]


CHECKERS: dict[str, Callable[..., v.Checked]] = {
    "applicant_name": v.check_full_name,
    "cccd": v.check_cccd,
    "dob": v.check_dob,
    "phone": v.check_phone,
    "commune": v.check_commune,
    "delivery": v.check_delivery,
}


def _retriever() -> Retriever | None:
    try:
        return SHARED_RETRIEVER.get()
    except KnowledgeUnavailable as exc:
        log.error("knowledge unavailable: %s", exc)
        return None


class ActionStartFiling(Action):
    """Pick the procedure to file (the one in context, or the one named now) and show its checklist."""

    def __init__(self, retriever: Retriever | None = None) -> None:
        self._retriever = retriever

    def name(self) -> str:
        return "action_start_filing"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = conversation_language(tracker)
        retriever = self._retriever or _retriever()
        record = self._procedure(tracker, retriever) if retriever else None
        if record is None:
            dispatcher.utter_message(text=ASK_WHICH[lang])
            return [SlotSet("filing_code", None)]
        dispatcher.utter_message(text=START[lang].format(title=record.title.get(lang)[0]))
        text, card = procedure_answer(record, lang, "documents")
        dispatcher.utter_message(text=text, json_message={**card, "checklist": True})
        return [
            SlotSet("filing_code", record.code),
            SlotSet("procedure_code", record.code),
            SlotSet("filing_failures", {}),
        ]

    @staticmethod
    def _procedure(tracker: Tracker, retriever: Retriever) -> Procedure | None:
        named = next(tracker.get_latest_entity_values("procedure_code"), None)
        if named in retriever.records:
            return retriever.records[named]
        text = tracker.latest_message.get("text") or ""
        current = retriever.records.get(tracker.get_slot("procedure_code") or "")
        if current is not None and not names_something(text, FILING_WORDS):
            return current  # "I want to apply now": the procedure we were talking about
        result = retriever.search(text, k=3)
        if result.verdict == CLEAR and result.best is not None and names_something(text, FILING_WORDS):
            return result.best.procedure  # "I want to apply for a passport now"
        return current


class ValidateFilingForm(FormValidationAction):
    """Reads each answer from the citizen's text and checks it."""

    def name(self) -> str:
        return "validate_filing_form"

    # -- extraction: the text is the answer, unless it is clearly something else --------------

    @staticmethod
    def _answer(tracker: Tracker, slot: str) -> dict[str, Any]:
        text = typed_answer(tracker, slot)
        intent = (tracker.latest_message or {}).get("intent") or {}
        if text is None or intent.get("name") == "stop":
            return {}
        # A well-formed number or date is an answer whatever NLU guessed, and so is a name that
        # starts with a family name or a place that says "ward"/"phường"; other free text could be
        # anything, so there a confident question wins.
        if slot in STRUCTURED:
            looks_valid = _check(slot, text, tracker).ok
        else:
            looks_valid = v.plainly_a_name(text) if slot == "applicant_name" else v.plainly_a_place(text)
        if (
            not looks_valid
            and intent.get("name") in INTERRUPTIONS
            and intent.get("confidence", 0) >= INTERRUPT_CONFIDENCE
        ):
            return {}  # a question or request: the rules answer it, then the form asks again
        return {slot: text}

    # -- validation ---------------------------------------------------------------------------

    def _validate(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        lang = conversation_language(tracker)
        failures = dict(tracker.get_slot("filing_failures") or {})
        checked = _check(slot, str(value or ""), tracker)
        if checked.ok:
            failures.pop(slot, None)
            return {slot: checked.value, "filing_failures": failures}
        failures[slot] = failures.get(slot, 0) + 1
        message = ERRORS[slot][checked.error or ""][lang]
        if failures[slot] >= FAILURES_BEFORE_HELP:
            dispatcher.utter_message(
                text=f"{message}\n{EXPLAIN[slot][lang]} {HELP_OFFER[lang]}",
                buttons=[{"title": STAFF_BUTTON[lang], "payload": "/request_human"}],
            )
        else:
            dispatcher.utter_message(text=message)
        return {slot: None, "filing_failures": failures}


def _bind(slot: str) -> None:
    """rasa-sdk calls extract_<slot> and validate_<slot>: one pair per field, all alike."""

    async def extract(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        return self._answer(tracker, slot)

    async def validate(self, value, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        return self._validate(slot, value, dispatcher, tracker)

    setattr(ValidateFilingForm, f"extract_{slot}", extract)
    setattr(ValidateFilingForm, f"validate_{slot}", validate)


for _slot in FIELDS:
    _bind(_slot)


def typed_answer(tracker: Tracker, slot: str) -> str | None:
    """The citizen's text when the form is asking for `slot`; None for a button payload or nothing."""
    if tracker.get_slot("requested_slot") != slot:
        return None
    text = ((tracker.latest_message or {}).get("text") or "").strip()
    return text if text and not text.startswith("/") else None


def _check(slot: str, text: str, tracker: Tracker) -> v.Checked:
    if slot == "cccd":
        return v.check_cccd(text, tracker.get_slot("dob"))
    if slot == "dob":
        checked = v.check_dob(text)
        cccd = tracker.get_slot("cccd")
        if checked.ok and cccd and not v.check_cccd(cccd, checked.value).ok:
            return v.Checked(error="dob_mismatch")
        return checked
    return CHECKERS[slot](text)


SUMMARY = {
    "vi": "Đã lưu hồ sơ nháp. Mã tra cứu của bạn: {ref}",
    "en": "Your draft is saved. Your reference code: {ref}",
    "bn": "আপনার খসড়া সংরক্ষিত হয়েছে। আপনার রেফারেন্স কোড: {ref}",
}
FIELD_NAMES = {
    "procedure": {"vi": "Thủ tục", "en": "Procedure", "bn": "প্রক্রিয়া"},
    "applicant_name": {"vi": "Họ tên", "en": "Name", "bn": "নাম"},
    "cccd": {"vi": "Số căn cước", "en": "ID number", "bn": "পরিচয়পত্র নম্বর"},
    "dob": {"vi": "Ngày sinh", "en": "Date of birth", "bn": "জন্মতারিখ"},
    "phone": {"vi": "Điện thoại", "en": "Phone", "bn": "ফোন"},
    "commune": {"vi": "Xã/phường", "en": "Commune/ward", "bn": "কমিউন/ওয়ার্ড"},
    "delivery": {"vi": "Nhận kết quả", "en": "Result", "bn": "ফলাফল"},
}
DELIVERY_NAMES = {
    "centre": {"vi": "tại trung tâm", "en": "collect at the centre", "bn": "কেন্দ্র থেকে সংগ্রহ"},
    "post": {"vi": "qua bưu điện", "en": "by post", "bn": "ডাকযোগে"},
}
ONLINE_STEPS = {
    "vi": [
        "Cách nộp trực tuyến trên Cổng Dịch vụ công quốc gia (quét mã QR để mở đúng thủ tục):",
        "1. Đăng nhập bằng tài khoản định danh điện tử VNeID.",
        "2. Mở thủ tục và điền tờ khai điện tử (thông tin đã chuẩn bị ở trên).",
        "3. Tải lên ảnh chụp hoặc bản scan các giấy tờ trong danh sách.",
        "4. Nộp lệ phí trực tuyến (nếu có).",
        "5. Theo dõi hồ sơ trên Cổng, hoặc hỏi tôi với mã tra cứu.",
    ],
    "en": [
        "To file online on the National Public Service Portal (scan the QR code to open this procedure):",
        "1. Log in with your VNeID electronic identity account.",
        "2. Open the procedure and fill in the e-form (with the details above).",
        "3. Upload photos or scans of the documents in the checklist.",
        "4. Pay the fee online, if there is one.",
        "5. Track the application on the portal, or ask me with your reference code.",
    ],
    "bn": [
        "জাতীয় পাবলিক সার্ভিস পোর্টালে অনলাইনে জমা দিতে (এই প্রক্রিয়াটি খুলতে QR কোড স্ক্যান করুন):",
        "১. আপনার VNeID ইলেকট্রনিক পরিচয় অ্যাকাউন্টে লগ ইন করুন।",
        "২. প্রক্রিয়াটি খুলে ই-ফর্ম পূরণ করুন (উপরের তথ্য দিয়ে)।",
        "৩. তালিকার কাগজপত্রের ছবি বা স্ক্যান আপলোড করুন।",
        "৪. ফি থাকলে অনলাইনে পরিশোধ করুন।",
        "৫. পোর্টালে আবেদন অনুসরণ করুন, অথবা রেফারেন্স কোড দিয়ে আমাকে জিজ্ঞাসা করুন।",
    ],
}
IN_PERSON = {
    "vi": "Thủ tục này chưa nộp trực tuyến được. Bạn mang giấy tờ và mã tra cứu đến nộp tại: {where}",
    "en": "This procedure cannot be filed online yet. Bring the documents and your reference code to: {where}",
    "bn": "এই প্রক্রিয়াটি এখনও অনলাইনে জমা দেওয়া যায় না। কাগজপত্র ও রেফারেন্স কোড নিয়ে এখানে জমা দিন: {where}",
}


class ActionSubmitFiling(Action):
    """Save the completed form as a draft and tell the citizen how to finish the filing."""

    def __init__(self, retriever: Retriever | None = None, store: Any = None) -> None:
        self._retriever = retriever
        self._store = store

    def name(self) -> str:
        return "action_submit_filing"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = conversation_language(tracker)
        retriever = self._retriever or _retriever()
        code = tracker.get_slot("filing_code")
        record = retriever.records.get(code) if retriever and code else None
        values = {slot: tracker.get_slot(slot) for slot in FIELDS}
        if record is None or not all(values.values()):
            dispatcher.utter_message(text=SAVE_FAILED[lang])
            return _clear_form()
        title = record.title.get(lang)[0]
        online = record.channels.online
        try:
            draft = (self._store or shared_store()).create_draft(
                sender_id=tracker.sender_id,
                procedure_code=record.code,
                procedure_title=record.title.vi,
                language=lang,
                full_name=values["applicant_name"],
                cccd=values["cccd"],
                dob=values["dob"],
                phone=values["phone"],
                commune=values["commune"],
                delivery=values["delivery"],
                online=online.value,
                portal_url=record.channels.portal_url,
            )
        except StoreUnavailable as exc:
            log.error("draft not saved: %s", exc)
            dispatcher.utter_message(
                text=SAVE_FAILED[lang],
                buttons=[
                    {"title": RETRY[lang], "payload": "/start_filing"},
                    {"title": STAFF_BUTTON[lang], "payload": "/request_human"},
                ],
                json_message={"type": "error", "code": "draft_not_saved"},
            )
            return [SlotSet("filing_failures", {})]  # the details stay, so "try again" needs no retyping

        names = {k: v[lang] for k, v in FIELD_NAMES.items()}
        lines = [
            SUMMARY[lang].format(ref=draft.reference),
            f"{names['procedure']}: {title} ({record.code})",
            f"{names['applicant_name']}: {draft.full_name}",
            f"{names['cccd']}: {v.mask_personal(draft.cccd)}",
            f"{names['dob']}: {_show_date(draft.dob)}",
            f"{names['phone']}: {v.mask_personal(draft.phone)}",
            f"{names['commune']}: {draft.commune}",
            f"{names['delivery']}: {DELIVERY_NAMES[draft.delivery][lang]}",
        ]
        if online is not OnlineLevel.none:
            lines += [*ONLINE_STEPS[lang], record.channels.portal_url or ""]
        else:
            lines += [IN_PERSON[lang].format(where=where_text(record, Writer(lang)))]
        dispatcher.utter_message(
            text="\n".join(lines).strip(),
            json_message={
                "type": "filing_draft",
                "reference": draft.reference,
                "code": record.code,
                "title": title,
                "online": online.value,
                "portal_url": record.channels.portal_url,
                "qr": f"/qr/{draft.reference}.svg" if record.channels.portal_url else None,
                "print": f"/print/{draft.reference}",
                "channel": latest_metadata(tracker).get("channel"),
            },
        )
        return _clear_form()


def _show_date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def _clear_form() -> list[EventType]:
    """The applicant's details leave the conversation's slots once saved (or abandoned)."""
    return [SlotSet(slot, None) for slot in FIELDS] + [SlotSet("filing_code", None), SlotSet("filing_failures", None)]


class ActionCancelFiling(Action):
    def name(self) -> str:
        return "action_cancel_filing"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text=CANCELLED[conversation_language(tracker)])
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_clear_form()]
