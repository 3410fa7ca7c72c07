"""Checks of the applicant's details collected by the filing form; each failure says what is wrong.

Pure functions: a value in, either the clean value or a reason code out. The form turns reason codes
into sentences in the citizen's language (actions/filing.py).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from knowledge.text import fold

# Province codes that open a 12-digit citizen identity (CCCD) number: the code of the province where
# the birth was registered, as set by Circular 07/2016/TT-BCA (63 provinces; cards keep them after the
# 2025 merger of provinces).
PROVINCE_CODES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 "
    "037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 "
    "077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split()
)
# The 4th digit gives sex and century of birth: 0/1 = male/female born 1900-1999, 2/3 = 2000-2099, ...
CENTURY_OF_DIGIT = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200, 8: 2300, 9: 2300}
# Vietnamese mobile numbers: 10 digits, 0 + a network prefix (03x, 05x, 07x, 08x, 09x); +84/84 instead of 0.
MOBILE_RE = re.compile(r"^0(3[2-9]|5[25689]|7[06-9]|8[1-9]|9\d)\d{7}$")
OLDEST_AGE_YEARS = 120


@dataclass(frozen=True)
class Checked:
    """A value that passed (`value` set) or the reason it did not (`error` set)."""

    value: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _fail(reason: str) -> Checked:
    return Checked(error=reason)


def digits_only(text: str) -> str:
    return re.sub(r"[\s.\-()]", "", text)


def check_full_name(text: str) -> Checked:
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        return _fail("empty")
    if any(ch.isdigit() for ch in name):
        return _fail("has_digits")
    if not all(ch.isalpha() or ch in " '-." or unicodedata.category(ch).startswith("M") for ch in name):
        return _fail("bad_characters")
    parts = name.split()
    if len(parts) < 2:
        return _fail("too_short")  # Vietnamese full names have a family name and a given name
    if len(name) > 80 or len(parts) > 8:
        return _fail("too_long")
    return Checked(" ".join(p[:1].upper() + p[1:].lower() for p in parts))


# The commonest Vietnamese family names: together they cover the great majority of citizens. An
# answer that starts with one is a name, whatever NLU made of it.
FAMILY_NAMES = frozenset(
    """
    nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh đoàn trịnh trương lâm
    lương mai cao hà quách thái tô tạ chu kiều la lữ triệu lưu lại tăng thạch tôn văn khúc nông
    hứa giang mạc diệp tiêu âu vương quang châu
    """.split()
)
FAMILY_NAMES_PLAIN = frozenset(fold(n) for n in FAMILY_NAMES)
PLACE_WORDS = frozenset({"phuong", "xa", "thi", "dac", "ward", "commune", "town", "ওয়ার্ড", "কমিউন"})


def plainly_a_name(text: str) -> bool:
    """A well-formed full name starting with a Vietnamese family name ("Nguyễn Văn An").

    Typed without diacritics the family name is ambiguous ("le" is Lê, and also lệ in "lệ phí"), so
    there the words must also be capitalised ("Le Van An").
    """
    if not check_full_name(text).ok:
        return False
    words_ = unicodedata.normalize("NFC", text).split()
    first = words_[0].lower()
    if first in FAMILY_NAMES:
        return True
    return fold(first) == first and first in FAMILY_NAMES_PLAIN and all(w[:1].isupper() for w in words_)


def plainly_a_place(text: str) -> bool:
    """A commune or ward named as such ("Phường Đông Kinh", "xa Tan Thanh", "Dong Kinh ward")."""
    return check_commune(text).ok and any(fold(w).lower() in PLACE_WORDS for w in text.split())


def parse_date(text: str) -> dt.date | None:
    """Day first as Vietnamese write it (15/03/1990, 15-3-1990, 15.03.1990), or ISO 1990-03-15."""
    text = text.strip()
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    else:
        dmy = re.fullmatch(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", text)
        if not dmy:
            return None
        day, month, year = (int(g) for g in dmy.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def find_date(text: str) -> str | None:
    """The first date-looking part of a sentence ("sinh ngày 15/3/1990" -> "15/3/1990")."""
    match = re.search(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{4}", text)
    return match.group(0) if match else None


def check_dob(text: str, today: dt.date | None = None) -> Checked:
    today = today or dt.date.today()
    found = find_date(text)
    if found is None:
        return _fail("format")
    born = parse_date(found)
    if born is None:
        return _fail("no_such_date")
    if born > today:
        return _fail("future")
    if today.year - born.year > OLDEST_AGE_YEARS:
        return _fail("too_old")
    return Checked(born.isoformat())


def check_cccd(text: str, dob: str | None = None) -> Checked:
    """12 digits; a known province code; the 4th and 5th-6th digits agree with the date of birth."""
    number = digits_only(text)
    if not number.isdigit():
        return _fail("not_digits")
    if len(number) != 12:
        return _fail("length")
    if number[:3] not in PROVINCE_CODES:
        return _fail("province")
    if dob:
        born = dt.date.fromisoformat(dob)
        century = CENTURY_OF_DIGIT[int(number[3])]
        if century != born.year // 100 * 100 or int(number[4:6]) != born.year % 100:
            return _fail("dob_mismatch")
    return Checked(number)


def check_phone(text: str) -> Checked:
    number = digits_only(text)
    if number.startswith("+84"):
        number = "0" + number[3:]
    elif number.startswith("84") and len(number) == 11:
        number = "0" + number[2:]
    if not number.isdigit():
        return _fail("not_digits")
    if len(number) != 10:
        return _fail("length")
    if not MOBILE_RE.match(number):
        return _fail("not_mobile")
    return Checked(number)


def check_commune(text: str) -> Checked:
    place = " ".join(unicodedata.normalize("NFC", text).split()).strip(" .,")
    if len(place) < 2:
        return _fail("empty")
    if len(place) > 80:
        return _fail("too_long")
    if not any(ch.isalpha() for ch in place):
        return _fail("bad_characters")
    return Checked(place)


DELIVERY_WORDS = {
    "post": ("buu dien", "buu chinh", "gui ve nha", "qua duong buu", "post", "mail", "deliver", "home", "ডাক"),
    "centre": (
        "trung tam",
        "tai quay",
        "nhan truc tiep",
        "den lay",
        "tu lay",
        "centre",
        "center",
        "counter",
        "pick",
        "collect",
        "in person",
        "কেন্দ্র",
        "নিজে",
    ),
}


def check_delivery(text: str) -> Checked:
    folded = fold(text)
    found = {choice for choice, cues in DELIVERY_WORDS.items() if any(fold(cue) in folded for cue in cues)}
    if len(found) != 1:
        return _fail("choose")
    return Checked(found.pop())


MASK_PATTERNS = (
    (re.compile(r"(?<!\d)(\d{3})\d{6}(\d{3})(?!\d)"), r"\1******\2"),  # CCCD: keep province code and last 3
    (re.compile(r"(?<![\d+])(\+?84|0)(\d{2})\d{4}(\d{3})(?!\d)"), r"\1\2****\3"),  # mobile numbers
)


def mask_personal(text: str) -> str:
    """Hide the middle of identity-card and phone numbers in text meant for logs or transcripts."""
    for pattern, replacement in MASK_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
