"""The procedure record: one administrative procedure, its facts, and its text in vi, en and bn."""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LANGS = ("vi", "en", "bn")
CODE_RE = re.compile(r"^[0-9]\.[0-9]{6}$|^[A-Z0-9_.-]{3,40}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """Text in our languages; Vietnamese is the official one and always present."""

    vi: str = Field(min_length=1)
    en: str | None = None
    bn: str | None = None

    def get(self, lang: str) -> tuple[str, bool]:
        """The text in `lang`, falling back to Vietnamese; the flag says whether it fell back."""
        value = getattr(self, lang, None) if lang in LANGS else None
        return (value, False) if value else (self.vi, lang != "vi")


class Names(_Strict):
    """Everyday names people use for a procedure, per language."""

    vi: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)
    bn: list[str] = Field(default_factory=list)


class Questions(_Strict):
    """Questions citizens ask about a procedure, in their own words; retrieval matches against them.

    `vi_plain` holds Vietnamese as people type it on phones and kiosks: no diacritics, shorthand
    ("ko", "dc", "cccd"). Folding `vi` gives the unaccented form of the others automatically.
    """

    vi: list[str] = Field(default_factory=list)
    vi_plain: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)
    bn: list[str] = Field(default_factory=list)


class Level(str, Enum):
    central = "central"
    province = "province"
    commune = "commune"


class CopyKind(str, Enum):
    original = "original"
    copy = "copy"
    original_or_copy = "original_or_copy"
    present = "present"  # shown at the counter, not handed in


class Document(_Strict):
    name: Text
    copies: int = Field(default=1, ge=0, le=20)
    kind: CopyKind = CopyKind.original
    template: str | None = None  # the official form's number or name
    when: Text | None = None  # only required in this case


class Fee(_Strict):
    amount: int = Field(ge=0)  # 0 means free
    unit: str = "VND"
    per: Text | None = None  # e.g. "per copy"
    condition: Text | None = None


class TimeUnit(str, Enum):
    working_days = "working_days"
    days = "days"
    hours = "hours"
    months = "months"
    immediate = "immediate"


class ProcessingTime(_Strict):
    amount: float = Field(ge=0)
    unit: TimeUnit
    note: Text | None = None


class OnlineLevel(str, Enum):
    full = "full"  # can be filed and paid entirely online
    partial = "partial"  # filed online, something must still be brought in
    none = "none"


class Channels(_Strict):
    in_person: bool = True
    post: bool = False
    online: OnlineLevel = OnlineLevel.none
    portal_url: str | None = None
    anywhere_in_province: bool = False  # can be filed at any centre regardless of residence

    @model_validator(mode="after")
    def _online_needs_link(self) -> Channels:
        if self.online is not OnlineLevel.none and not self.portal_url:
            raise ValueError("an online procedure needs portal_url")
        return self


class Procedure(_Strict):
    code: Annotated[str, Field(pattern=CODE_RE.pattern)]
    title: Text
    summary: Text
    everyday_names: Names = Field(default_factory=Names)
    questions: Questions = Field(default_factory=Questions)
    levels: list[Level] = Field(default_factory=list)  # empty only for imports whose source gives none
    field: Text
    agencies: list[Text] = Field(default_factory=list)
    who_may_file: Text | None = None
    documents: list[Document] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    processing_time: ProcessingTime | None = None
    channels: Channels = Field(default_factory=Channels)
    steps: list[Text] = Field(default_factory=list)
    conditions: Text | None = None
    result: Text | None = None
    legal_basis: list[str] = Field(default_factory=list)
    updated: dt.date
    source: str = Field(min_length=1)
    origin: str = "catalogue"  # "catalogue" (ours, written for citizens) or "import"

    @field_validator("levels")
    @classmethod
    def _unique_levels(cls, value: list[Level]) -> list[Level]:
        if len(set(value)) != len(value):
            raise ValueError("levels repeat")
        return value

    def is_free(self) -> bool:
        return bool(self.fees) and all(f.amount == 0 for f in self.fees)
