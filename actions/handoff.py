"""Handing a conversation to a person: a queue ticket at the kiosk, a callback on the portal.

Opening hours come from `ASSIST_OPENING_HOURS` (default: the standard hours of a one-stop centre),
read in `ASSIST_TIMEZONE` (default Asia/Ho_Chi_Minh). Outside them the citizen is told when staff
are back; a portal callback request is still recorded for that time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import validators as v
from actions.filing import ERRORS, typed_answer  # the phone number is read and explained as in the filing form
from actions.language import conversation_language, latest_metadata
from actions.store import Store, StoreUnavailable, shared_store

log = logging.getLogger(__name__)

DEFAULT_HOURS = "mon-fri 07:30-11:30 13:30-17:00; sat 07:30-11:30"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HoursError(ValueError):
    pass


@dataclass(frozen=True)
class OpeningHours:
    """Opening periods per weekday (0 = Monday), in local time."""

    periods: dict[int, list[tuple[dt.time, dt.time]]]
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, zone: str = DEFAULT_TIMEZONE) -> OpeningHours:
        """ "mon-fri 07:30-11:30 13:30-17:00; sat 07:30-11:30": day or day range, then time ranges."""
        periods: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for part in filter(None, (p.strip() for p in spec.lower().split(";"))):
            days, *ranges = part.split()
            first, _, last = days.partition("-")
            if first not in DAYS or (last and last not in DAYS) or not ranges:
                raise HoursError(f"ASSIST_OPENING_HOURS: cannot read {part!r} (e.g. 'mon-fri 07:30-17:00')")
            start_day, end_day = DAYS.index(first), DAYS.index(last or first)
            for r in ranges:
                m = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", r)
                if not m:
                    raise HoursError(f"ASSIST_OPENING_HOURS: cannot read the time range {r!r} (e.g. 07:30-11:30)")
                h1, m1, h2, m2 = (int(g) for g in m.groups())
                opens, closes = dt.time(h1, m1), dt.time(h2, m2)
                for day in range(start_day, end_day + 1):
                    periods.setdefault(day, []).append((opens, closes))
        try:
            tz = ZoneInfo(zone)
        except Exception as exc:
            raise HoursError(f"ASSIST_TIMEZONE: unknown time zone {zone!r}") from exc
        return cls({d: sorted(p) for d, p in periods.items()}, tz)

    @classmethod
    def from_env(cls) -> OpeningHours:
        return cls.parse(
            os.environ.get("ASSIST_OPENING_HOURS") or DEFAULT_HOURS,
            os.environ.get("ASSIST_TIMEZONE") or DEFAULT_TIMEZONE,
        )

    def local(self, moment: dt.datetime | None = None) -> dt.datetime:
        return (moment or dt.datetime.now(dt.UTC)).astimezone(self.zone)

    def is_open(self, moment: dt.datetime | None = None) -> bool:
        now = self.local(moment)
        return any(o <= now.time() < c for o, c in self.periods.get(now.weekday(), []))

    def next_opening(self, moment: dt.datetime | None = None) -> dt.datetime | None:
        now = self.local(moment)
        for offset in range(8):
            day = (now + dt.timedelta(days=offset)).date()
            for opens, _ in self.periods.get(day.weekday(), []):
                start = dt.datetime.combine(day, opens, tzinfo=self.zone)
                if start > now:
                    return start
        return None

    def describe(self, lang: str) -> str:
        names = DAY_NAMES[lang]
        out = []
        for day in range(7):
            if day in self.periods:
                times = ", ".join(f"{o:%H:%M}–{c:%H:%M}" for o, c in self.periods[day])
                out.append(f"{names[day]}: {times}")
        return "; ".join(out)


DAY_NAMES = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "bn": ("সোমবার", "মঙ্গলবার", "বুধবার", "বৃহস্পতিবার", "শুক্রবার", "শনিবার", "রবিবার"),
}


def when_text(moment: dt.datetime, lang: str) -> str:
    return f"{DAY_NAMES[lang][moment.weekday()]} {moment:%d/%m} {moment:%H:%M}"


KIOSK_TICKET = {
    "vi": "Cán bộ sẽ đến hỗ trợ bạn ngay. Số thứ tự của bạn là {ticket}.",
    "en": "A member of staff is coming to help you. Your number is {ticket}.",
    "bn": "একজন কর্মী আপনাকে সাহায্য করতে আসছেন। আপনার নম্বর {ticket}।",
}
CLOSED = {
    "vi": "Hiện ngoài giờ làm việc. Cán bộ sẽ có mặt lại lúc {when}.",
    "en": "We are outside opening hours now. Staff are back on {when}.",
    "bn": "এখন অফিস সময়ের বাইরে। কর্মীরা আবার আসবেন {when}।",
}
CALLBACK = {
    "vi": "Đã ghi nhận yêu cầu (số {ticket}). Cán bộ sẽ gọi lại số {phone} trong giờ làm việc. Tin nhắn của cán bộ cũng sẽ hiện ở đây.",
    "en": "Your request is recorded (number {ticket}). Staff will call {phone} during opening hours. Their messages will also appear here.",
    "bn": "আপনার অনুরোধ নথিভুক্ত হয়েছে (নম্বর {ticket})। কর্মীরা অফিস সময়ে {phone} নম্বরে ফোন করবেন। তাঁদের বার্তাও এখানে দেখা যাবে।",
}
FAILED = {
    "vi": "Xin lỗi, chưa gửi được yêu cầu. Bạn vui lòng đến quầy tiếp nhận gần nhất.",
    "en": "Sorry, the request could not be sent. Please go to the nearest reception counter.",
    "bn": "দুঃখিত, অনুরোধটি পাঠানো যায়নি। অনুগ্রহ করে নিকটতম অভ্যর্থনা কাউন্টারে যান।",
}


def channel_of(tracker: Tracker) -> str:
    return "kiosk" if latest_metadata(tracker).get("channel") == "kiosk" else "portal"


class ActionRequestHuman(Action):
    """Kiosk: a queue ticket now (or when staff are back). Portal: ask for a callback number."""

    def __init__(self, store: Store | None = None, hours: OpeningHours | None = None) -> None:
        self._store = store
        self._hours = hours

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = conversation_language(tracker)
        hours = self._hours or OpeningHours.from_env()
        if channel_of(tracker) == "portal":
            if not hours.is_open():
                back = hours.next_opening()
                if back:
                    dispatcher.utter_message(text=CLOSED[lang].format(when=when_text(back, lang)))
            return [SlotSet("needs_callback_phone", True)]
        if not hours.is_open():
            back = hours.next_opening()
            dispatcher.utter_message(
                text=CLOSED[lang].format(when=when_text(back, lang) if back else "—"),
                json_message={"type": "handoff", "ticket": None, "back_at": back.isoformat() if back else None},
            )
            return [SlotSet("needs_callback_phone", False)]
        try:
            handoff = (self._store or shared_store()).open_handoff(tracker.sender_id, "kiosk", lang)
        except StoreUnavailable as exc:
            log.error("handoff not recorded: %s", exc)
            dispatcher.utter_message(text=FAILED[lang])
            return [SlotSet("needs_callback_phone", False)]
        dispatcher.utter_message(
            text=KIOSK_TICKET[lang].format(ticket=handoff.ticket),
            json_message={"type": "handoff", "ticket": handoff.ticket},
        )
        return [SlotSet("needs_callback_phone", False)]


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    async def extract_callback_phone(self, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        text = typed_answer(tracker, "callback_phone")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if text is None or (intent == "stop" and not v.check_phone(text).ok):
            return {}
        return {"callback_phone": text}

    async def validate_callback_phone(self, value, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        checked = v.check_phone(str(value or ""))
        if checked.ok:
            return {"callback_phone": checked.value}
        dispatcher.utter_message(text=ERRORS["phone"][checked.error or "length"][conversation_language(tracker)])
        return {"callback_phone": None}


class ActionSubmitHandoff(Action):
    """Record a portal callback request once the number is known."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store

    def name(self) -> str:
        return "action_submit_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        lang = conversation_language(tracker)
        phone = tracker.get_slot("callback_phone")
        reset = [SlotSet("callback_phone", None), SlotSet("needs_callback_phone", None)]
        try:
            handoff = (self._store or shared_store()).open_handoff(tracker.sender_id, "portal", lang, phone)
        except StoreUnavailable as exc:
            log.error("callback request not recorded: %s", exc)
            dispatcher.utter_message(text=FAILED[lang])
            return reset
        dispatcher.utter_message(
            text=CALLBACK[lang].format(ticket=handoff.ticket, phone=v.mask_personal(phone or "")),
            json_message={"type": "handoff", "ticket": handoff.ticket},
        )
        return reset
