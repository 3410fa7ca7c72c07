"""Text helpers shared by retrieval and the bot: diacritic folding, tokens, language guess."""

from __future__ import annotations

import re
import unicodedata

_BENGALI = re.compile(r"[\u0980-\u09FF]")
# Letters only Vietnamese uses among our languages (đ, ơ, ư, ă, â, ê, ô, and tone marks).
_VI_MARKS = re.compile(r"[đơưăâêô]|[\u0300\u0301\u0303\u0309\u0323]", re.IGNORECASE)
# Frequent Vietnamese syllables as people type them without diacritics; none is a common English word.
_VI_ASCII = frozenset(
    [
        "toi",
        "ban",
        "muon",
        "lam",
        "the",
        "nao",
        "can",
        "giay",
        "gi",
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
        "tru",
        "thuong",
        "xac",
        "nhan",
        "chung",
        "thuc",
        "cap",
        "lai",
        "doi",
        "bang",
        "xe",
        "nha",
        "dat",
        "so",
        "do",
        "kinh",
        "doanh",
        "thue",
        "bao",
        "hiem",
        "y",
        "te",
        "xa",
        "hoi",
        "tro",
        "giup",
        "cai",
        "chinh",
        "ly",
        "lich",
        "tu",
        "phap",
        "mau",
        "don",
        "tien",
        "het",
        "bi",
        "ong",
        "ba",
        "vo",
        "chong",
        "chet",
        "tu",
        "o",
        "phuong",
        "tinh",
        "huyen",
        "viec",
        "di",
        "ve",
        "nguoi",
        "tre",
        "be",
        "dia",
        "chi",
        "truc",
        "tuyen",
        "hoac",
        "sao",
        "ban",
        "chinh",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics: "Đăng ký" -> "dang ky". Bengali is left as it is."""
    text = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    kept = [c for c in decomposed if not (unicodedata.combining(c) and "\u0300" <= c <= "\u036f")]
    return unicodedata.normalize("NFC", "".join(kept))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def detect_language(text: str) -> str | None:
    """Best guess of vi / en / bn for a short message; None when it says nothing (digits, emoji)."""
    if _BENGALI.search(text):
        return "bn"
    if _VI_MARKS.search(unicodedata.normalize("NFD", text)):
        return "vi"
    tokens = re.findall(r"[a-z]+", text.lower())
    if not tokens:
        return None
    share = sum(t in _VI_ASCII for t in tokens) / len(tokens)
    return "vi" if share >= 0.5 else "en"


def has_diacritics(text: str) -> bool:
    """True when the text carries Vietnamese letters or tone marks (typed with diacritics)."""
    return bool(_VI_MARKS.search(unicodedata.normalize("NFD", text)))
