"""Tell a follow-up ("how much is it?") from a question that names a new procedure."""

from __future__ import annotations

from knowledge.text import fold, words

# Words that only ask *about* something: question words, the aspects, politeness, pronouns.
# Vietnamese is listed without diacritics because the text is folded before the check.
GENERIC = frozenset(
    """
    toi minh em anh chi ban co khong ko k duoc dc a a nhe vay the nao sao gi nao nhung cac cai do nay
    can phai mang theo chuan bi giay to gom bao nhieu tien le phi mat het mien lau ngay may
    gio khi nao thi xong ket qua lay nhan o dau noi nop lam den co quan xa phuong khac tinh
    online truc tuyen mang qua vneid cong dich vu cong duoc khong hay la va voi cho thu tuc
    i me my we you it is are do does can could how what which where when much many long the a an to
    for of in on at there be need needs bring papers documents document fee fees cost costs price free
    take takes days day time ready apply file office go should any this that online portal use
    কী কি কত কোথায় কবে কোন লাগবে লাগে টাকা ফি দিন সময় কাগজ কাগজপত্র জমা দেব দিতে অনলাইনে করা যাবে যায়
    আমি আমার এটা এটি হবে পাব আনতে অফিসে যেতে আবেদন
    """.split()
)


# Two-syllable question words whose syllables also occur in procedure names ("hộ" in "hộ chiếu").
GENERIC_PAIRS = ("ho so", "giay to", "le phi", "truc tuyen", "dich vu cong")


def names_something(text: str, also_generic: frozenset[str] = frozenset()) -> bool:
    """True when, beyond question words (and `also_generic`), the text still says what it is about."""
    folded = " ".join(words(fold(text)))
    for pair in GENERIC_PAIRS:
        folded = folded.replace(pair, " ")
    return any(w not in GENERIC and w not in also_generic and not w.isdigit() for w in folded.split())
