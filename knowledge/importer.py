"""Import the national portal's procedure format into our schema, reporting what could not be parsed.

The portal's table cells arrive run together ("Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến1Miễn phí…"),
so each field has its own small parser. A field that cannot be parsed is left empty and counted;
a procedure is never dropped silently: one that cannot be imported at all is listed as an error.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from knowledge.errors import InputError
from knowledge.schema import (
    Channels,
    CopyKind,
    Document,
    Fee,
    Level,
    OnlineLevel,
    Procedure,
    ProcessingTime,
    Text,
    TimeUnit,
)

EMPTY = {"", "không có thông tin", "không có", "không"}
CHANNEL_NAMES = {"Trực tuyến": "online", "Trực tiếp": "in_person", "Dịch vụ bưu chính": "post"}
CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
# A channel name starts a row when a table cell follows it directly (a number, "Không…", or glued text);
# "Trực tiếp: nộp tại…" inside a description is not a row.
_CHANNEL_SPLIT = re.compile(r"(Trực tuyến|Trực tiếp|Dịch vụ bưu chính)(?=\d|\s*(?:Không|Miễn|Lệ phí|Phí)|[a-zà-ỹ]|$)")
_TIME = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(Ngày làm việc|Ngày|Giờ|Tháng|Năm|Tuần|Phút)?", re.IGNORECASE)
_TIME_UNITS = {
    "ngày làm việc": (TimeUnit.working_days, 1.0),
    "ngày": (TimeUnit.days, 1.0),
    "giờ": (TimeUnit.hours, 1.0),
    "tháng": (TimeUnit.months, 1.0),
    "năm": (TimeUnit.months, 12.0),
    "tuần": (TimeUnit.days, 7.0),
    "phút": (TimeUnit.hours, 1 / 60),
}
_MONEY = re.compile(r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(Việt Nam Đồng|VNĐ|VND|đồng|Đồng|USD)", re.IGNORECASE)
_COPIES = re.compile(r"(\d+)\s*bản chính(?:\s*,\s*(\d+)\s*bản sao)?|(\d+)\s*bản sao")
_DOC_HEADER = re.compile(r"Tên giấy tờ\s*Mẫu đơn, tờ khai\s*Số lượng")
_TEMPLATE_EXT = re.compile(r"\.(?:docx?|pdf|xlsx?|rar|zip)\b", re.IGNORECASE)
# Where two table cells were glued: "…Giấy chứng nhậnMẫu đơn…", "…(NA20).Mau…", "…(mẫu NA17)101-Mau…".
_CELL_JOIN = re.compile(r"(?<=[a-zà-ỹđ\)\.])(?=[A-ZÀ-ỸĐ0-9])")
# "60/2014/QH13", "123/2015/NĐ-CP"; the lookahead stops before a glued next cell ("…QH13Nghị định").
_LEGAL_CODE = re.compile(r"\d+(?:\.\d+)?/\d{4}/(?:[A-ZĐƯ0-9]+-)*[A-ZĐƯ0-9]+(?![a-zà-ỹđư])")
_GLUED_YEAR = re.compile(r"^(?:19|20)\d\d(?=\d)")  # "202068/2020/QH14": a date's year glued to "68/2020/QH14"
_STEP = re.compile(r"(?:^|\n)\s*(?:Bước\s*\d+\s*[:.\-]?|[-+•]\s+)")
LEVELS = {"Cấp bộ": Level.central, "Cấp tỉnh": Level.province, "Cấp xã": Level.commune}
ONLINE_LEVELS = {"Toàn trình": OnlineLevel.full, "Một phần": OnlineLevel.partial}
FIELDS = (
    "title",
    "levels",
    "agencies",
    "channels",
    "processing_time",
    "fees",
    "documents",
    "legal_basis",
    "steps",
    "result",
)


@dataclass
class FieldReport:
    """Per field: parsed, absent in the source ("Không có thông tin"), or present but not understood."""

    parsed: int = 0
    missing: int = 0
    failed: int = 0
    examples: list[str] = field(default_factory=list)

    def ok(self) -> None:
        self.parsed += 1

    def absent(self) -> None:
        self.missing += 1

    def record(self, code: str, raw: str, value: object) -> None:
        if value:
            self.ok()
        elif not raw.strip():
            self.absent()
        else:
            self.fail(code, raw)

    def fail(self, code: str, raw: str) -> None:
        self.failed += 1
        if len(self.examples) < 3:
            self.examples.append(f"{code}: {' '.join(raw.split())[:160]!r}")

    def merge(self, other: FieldReport) -> None:
        self.parsed += other.parsed
        self.missing += other.missing
        self.failed += other.failed
        self.examples = (self.examples + other.examples)[:3]

    @property
    def rate(self) -> float:
        """Share of the values present in the source that we understood."""
        total = self.parsed + self.failed
        return self.parsed / total if total else 1.0


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    errors: list[str] = field(default_factory=list)
    fields: dict[str, FieldReport] = field(default_factory=lambda: {name: FieldReport() for name in FIELDS})

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "imported": self.imported,
            "errors": self.errors,
            "fields": {
                name: {
                    "parsed": r.parsed,
                    "missing": r.missing,
                    "failed": r.failed,
                    "rate": round(r.rate, 4),
                    "examples": r.examples,
                }
                for name, r in self.fields.items()
            },
        }


def _clean(value: Any) -> str:
    text = str(value or "").strip()
    return "" if text.lower() in EMPTY else text


def _text(value: str) -> Text | None:
    value = " ".join(value.split())
    return Text(vi=value) if value else None


def parse_time(cell: str) -> ProcessingTime | None:
    match = _TIME.match(cell)
    if not match:
        return None
    amount = float(match.group(1).replace(",", "."))
    unit_name = (match.group(2) or "ngày làm việc").lower()  # a bare number on the portal means working days
    unit, factor = _TIME_UNITS[unit_name]
    return ProcessingTime(amount=round(amount * factor, 2), unit=unit)


def parse_fee(cell: str) -> list[Fee] | None:
    """Fees named in a channel row; None when the cell says nothing we can read."""
    head = cell[:300]
    amounts = [(int(re.sub(r"[.,]", "", m.group(1))), m.group(2)) for m in _MONEY.finditer(head)]
    if amounts:
        fees = []
        for amount, currency in amounts[:3]:
            unit = "USD" if currency.upper() == "USD" else "VND"
            fees.append(Fee(amount=amount, unit=unit))
        return fees
    if head.lower().startswith(("miễn phí", "miễn lệ phí", "không thu")):
        return [Fee(amount=0)]
    return None


@dataclass
class ChannelCell:
    """What the run-together channel table says; *_raw is "" where the source gives no information."""

    seen: dict[str, bool]
    time: ProcessingTime | None = None
    time_raw: str = ""
    fees: list[Fee] | None = None
    fee_raw: str = ""


_NO_INFO = "Không có thông tin"
_UNIT_WORD = re.compile(r"^\s*(Ngày làm việc|Ngày|Giờ|Tháng|Năm|Tuần|Phút)")


def parse_channels(cell: str) -> ChannelCell:
    """Rows of (channel, time, fee, description), run together after the header."""
    body = cell.replace(CHANNEL_HEADER, "", 1)
    parts = _CHANNEL_SPLIT.split(body)
    out = ChannelCell(seen={"online": False, "in_person": False, "post": False})
    for name, row in zip(parts[1::2], parts[2::2], strict=False):
        out.seen[CHANNEL_NAMES[name]] = True
        row = row.lstrip()
        if row.startswith(_NO_INFO):
            row = row[len(_NO_INFO) :]
        else:
            row_time = parse_time(row)
            if row_time is None:
                out.time_raw = out.time_raw or row[:80]
            else:
                out.time = out.time or row_time
                out.time_raw = row[:80]
                row = _UNIT_WORD.sub("", _TIME.sub("", row, count=1), count=1)
        row = row.lstrip()
        if row.startswith(_NO_INFO):
            continue
        out.fee_raw = out.fee_raw or row[:160]
        row_fees = parse_fee(row)
        if row_fees is not None and out.fees is None:
            out.fees = row_fees
    return out


def parse_documents(cell: str) -> list[Document]:
    """Document rows end with their copy count ("1 bản chính", "0 bản chính,1 bản sao")."""
    body = cell
    docs: list[Document] = []
    position = 0
    for match in _COPIES.finditer(body):
        chunk = body[position : match.start()]
        position = match.end()
        header = list(_DOC_HEADER.finditer(chunk))
        if header:
            chunk = chunk[header[-1].end() :]
        template = None
        ext = _TEMPLATE_EXT.search(chunk)
        if ext:
            joins = [m.start() for m in _CELL_JOIN.finditer(chunk, 0, ext.start())]
            cut = joins[-1] if joins else 0
            template = chunk[cut : ext.end()].strip()[-120:]
            chunk = chunk[:cut]
        name = " ".join(chunk.strip(" -+;:.\n").split())
        name = re.sub(r"^[a-zđ]\)\s*", "", name)
        if len(name) < 4:
            continue
        originals, copies_a, copies_b = match.group(1), match.group(2), match.group(3)
        n_orig = int(originals or 0)
        n_copy = int(copies_a or copies_b or 0)
        if n_orig and n_copy:
            kind, count = CopyKind.original_or_copy, n_orig
        elif n_copy:
            kind, count = CopyKind.copy, n_copy
        else:
            kind, count = CopyKind.original, n_orig
        docs.append(Document(name=Text(vi=name[:400]), copies=min(count, 20), kind=kind, template=template))
    return docs


def parse_legal_basis(cell: str) -> list[str]:
    seen: dict[str, None] = {}
    for code in _LEGAL_CODE.findall(cell):
        number = code.split("/", 1)[0]
        if len(number) > 4:
            code = _GLUED_YEAR.sub("", code)
        seen.setdefault(code, None)
    return list(seen)


def parse_steps(cell: str) -> list[Text]:
    pieces = [" ".join(p.split()) for p in _STEP.split(cell)]
    steps = [Text(vi=p[:500]) for p in pieces if len(p) > 8]
    return steps[:12]


def parse_result(cell: str) -> Text | None:
    head = re.split(r"Mã:|Từ khóa|Mô tả|Chọn cơ quan", cell, maxsplit=1)[0]
    return _text(head[:300])


def parse_levels(cell: str) -> list[Level]:
    return [level for name, level in LEVELS.items() if name in cell]


def read_online_levels(path: Path) -> dict[str, OnlineLevel]:
    """Lạng Sơn-style CSV: code (with a local suffix) → fully / partly online."""
    levels: dict[str, OnlineLevel] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = ".".join((row.get("code") or "").split(".")[:2])
            level = ONLINE_LEVELS.get((row.get("online_level") or "").strip(), OnlineLevel.none)
            if code:
                levels[code] = level
    return levels


def convert_row(
    row: dict[str, Any], fields: dict[str, FieldReport], online_levels: dict[str, OnlineLevel], today: dt.date
) -> Procedure:
    """One portal row in our schema; `fields` collects what could and could not be parsed."""
    code = _clean(row.get("ma_thu_tuc"))
    title = _clean(row.get("ten_thu_tuc"))
    fields["title"].record(code, title, title)

    level_cell = _clean(row.get("cap_thuc_hien"))
    levels = parse_levels(level_cell)
    fields["levels"].record(code, level_cell, levels)

    agency_text = _clean(row.get("co_quan_thuc_hien")) or _clean(row.get("co_quan_co_tham_quyen"))
    agencies = [Text(vi=a) for a in dict.fromkeys(p.strip() for p in re.split(r"[;\n]", agency_text)) if a]
    fields["agencies"].record(code, agency_text, agencies)

    channel_cell = _clean(row.get("cach_thuc_thuc_hien"))
    cell = parse_channels(channel_cell)
    fields["channels"].record(code, channel_cell, any(cell.seen.values()))
    fields["processing_time"].record(code, cell.time_raw, cell.time)
    fields["fees"].record(code, cell.fee_raw, cell.fees is not None)

    online = online_levels.get(code, OnlineLevel.partial if cell.seen["online"] else OnlineLevel.none)
    url = _clean(row.get("detail_url")) or None
    if online is not OnlineLevel.none and not url:
        online = OnlineLevel.none
    channels = Channels(in_person=cell.seen["in_person"], post=cell.seen["post"], online=online, portal_url=url)

    doc_cell = _clean(row.get("thanh_phan_ho_so"))
    documents = parse_documents(doc_cell)
    fields["documents"].record(code, doc_cell, documents)

    legal_cell = _clean(row.get("can_cu_phap_ly"))
    legal = parse_legal_basis(legal_cell)
    fields["legal_basis"].record(code, legal_cell, legal)

    step_cell = _clean(row.get("trinh_tu_thuc_hien"))
    steps = parse_steps(step_cell)
    fields["steps"].record(code, step_cell, steps)

    result_cell = _clean(row.get("ket_qua_xu_ly"))
    result = parse_result(result_cell) if result_cell else None
    fields["result"].record(code, result_cell, result)

    field_name = _clean(row.get("linh_vuc"))
    agency_names = ", ".join(a.vi for a in agencies[:2]) or "chưa có thông tin"
    summary = f"{title}. Lĩnh vực: {field_name or 'chưa có thông tin'}. Cơ quan thực hiện: {agency_names}."
    return Procedure(
        code=code,
        title=Text(vi=title or code),
        summary=Text(vi=summary),
        levels=levels,
        field=Text(vi=field_name or "Chưa phân loại"),
        agencies=agencies,
        who_may_file=_text(_clean(row.get("doi_tuong_thuc_hien"))),
        documents=documents,
        fees=cell.fees or [],
        processing_time=cell.time,
        channels=channels,
        steps=steps,
        conditions=_text(_clean(row.get("yeu_cau_dieu_kien"))[:1000]),
        result=result,
        legal_basis=legal,
        updated=today,
        source=f"{_clean(row.get('so_quyet_dinh')) or 'Cổng Dịch vụ công quốc gia'}; {url or ''}".strip("; "),
        origin="import",
    )


def import_file(
    source: Path, out_dir: Path, online_levels: Path | None = None, today: dt.date | None = None
) -> ImportReport:
    """Read a portal JSONL file, write our records to out_dir/<stem>.jsonl, and report per field."""
    if not source.is_file():
        raise InputError(f"{source}: file not found")
    levels = read_online_levels(online_levels) if online_levels else {}
    today = today or dt.date.today()
    report = ImportReport()
    records: dict[str, Procedure] = {}
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            report.read += 1
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
                row_fields = {name: FieldReport() for name in FIELDS}
                record = convert_row(row, row_fields, levels, today)
            except (ValueError, ValidationError) as exc:
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                report.errors.append(f"{source}:{number}: {message[:200]}")
                continue
            if record.code in records:
                report.errors.append(f"{source}:{number}: code {record.code} repeats an earlier line; kept the first")
                continue
            records[record.code] = record
            for name, counts in row_fields.items():
                report.fields[name].merge(counts)
    report.imported = len(records)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{source.stem}.jsonl"
    tmp = target.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records.values():
            handle.write(record.model_dump_json(exclude_none=True) + "\n")
    tmp.replace(target)
    return report


def count_fields(records: list[Procedure]) -> Counter[str]:
    return Counter(f for r in records for f in FIELDS if getattr(r, f, None))
