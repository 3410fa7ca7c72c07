"""The conversations the load generator plays: questions, follow-ups, a filing and status checks, in
Vietnamese with and without diacritics, English and Bengali, as citizens type them at the kiosk
and on the portal. Each turn names the payload types an answer may carry; `{reference}` is
replaced by the reference of a draft saved earlier in the run."""

from __future__ import annotations

from dataclasses import dataclass

CARD = frozenset({"procedure", "choices"})  # near-identical procedures give a choice first
ASK = frozenset({"ask"})
ANY: frozenset[str] = frozenset()  # any answer that is not "temporarily unavailable"


@dataclass(frozen=True)
class Turn:
    text: str
    expect: frozenset[str] = ANY


@dataclass(frozen=True)
class Scenario:
    name: str
    channel: str
    turns: tuple[Turn, ...]
    weight: int = 1  # how often it is played relative to the others


SCENARIOS = (
    Scenario(
        "vi question and follow-ups",
        "kiosk",
        (
            Turn("tôi muốn đăng ký khai sinh cho con", CARD),
            Turn("lệ phí bao nhiêu", CARD),
            Turn("mất bao lâu", CARD),
            Turn("cảm ơn"),
        ),
        weight=3,
    ),
    Scenario(
        "vi without diacritics",
        "portal",
        (
            Turn("dang ky ket hon can giay to gi", CARD),
            Turn("le phi bao nhieu", CARD),
            Turn("co lam online duoc khong", CARD),
            Turn("nop o dau", CARD),
        ),
        weight=2,
    ),
    Scenario(
        "en on the portal",
        "portal",
        (
            Turn("hello"),
            Turn("how do I apply for a passport", CARD),
            Turn("how much does it cost", CARD),
            Turn("how do I get a criminal record certificate", CARD),
        ),
        weight=2,
    ),
    Scenario(
        "bn on the portal",
        "portal",
        (
            Turn("নমস্কার"),
            Turn("আমার সন্তানের জন্ম নিবন্ধন করতে চাই", CARD),
            Turn("কী কী কাগজ লাগবে", CARD),
            Turn("ধন্যবাদ"),
        ),
        weight=1,
    ),
    Scenario(
        "vi filing at the kiosk, then its status",
        "kiosk",
        (
            Turn("tôi muốn đăng ký khai sinh cho con", CARD),
            Turn("tôi muốn nộp hồ sơ luôn", ASK),
            Turn("Nguyễn Văn An", ASK),
            Turn("001090012345", ASK),
            Turn("15/03/1990", ASK),
            Turn("0912345678", ASK),
            Turn("Phường Đông Kinh", ASK),
            Turn("centre", frozenset({"filing_draft"})),
            Turn("kiểm tra hồ sơ {reference}", frozenset({"status"})),
        ),
        weight=1,
    ),
    Scenario(
        "en status check",
        "portal",
        (Turn("is my application ready? {reference}", frozenset({"status"})),),
        weight=1,
    ),
)
