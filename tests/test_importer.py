"""The portal importer turns run-together table cells into our schema, reports per field, never drops a row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.catalog import load_catalog
from knowledge.errors import InputError
from knowledge.importer import import_file, parse_channels, parse_documents, parse_legal_basis
from knowledge.schema import CopyKind, OnlineLevel, TimeUnit
from knowledge.settings import PROJECT_ROOT
from tests.conftest import CATALOG

SHARED = PROJECT_ROOT.parent / "shared" / "data" / "dichvucong"
HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"


def test_channel_table_rows() -> None:
    cell = HEADER + "Trực tuyến5 Ngày làm việcMiễn phíNộp qua cổngTrực tiếp5 Ngày làm việcLệ phí : 50,000 Việt Nam Đồng"
    parsed = parse_channels(cell)
    assert parsed.seen == {"online": True, "in_person": True, "post": False}
    assert parsed.time is not None and (parsed.time.amount, parsed.time.unit) == (5, TimeUnit.working_days)
    assert parsed.fees is not None and parsed.fees[0].amount == 0


def test_money_time_units_and_missing_information() -> None:
    parsed = parse_channels(HEADER + "Dịch vụ bưu chính2 Tháng1.200.000 Việt Nam Đồng")
    assert parsed.time is not None and parsed.time.unit is TimeUnit.months
    assert parsed.fees is not None and parsed.fees[0].amount == 1_200_000
    nothing = parse_channels(HEADER + "Trực tiếpKhông có thông tinKhông có thông tin")
    assert nothing.seen["in_person"] and nothing.time is None and nothing.fees is None
    assert nothing.time_raw == "" and nothing.fee_raw == ""  # absent in the source, not a parse failure


def test_documents_split_on_copy_counts_and_templates() -> None:
    cell = (
        "* Giấy tờ phải nộp:Tên giấy tờMẫu đơn, tờ khaiSố lượng- Tờ khai theo mẫuTo khai mau 01.docx1 bản chính"
        "- Bản sao giấy tờ tùy thân0 bản chính,1 bản sao- Giấy xác nhận của trường1 bản chính"
    )
    docs = parse_documents(cell)
    assert [d.name.vi for d in docs] == ["Tờ khai theo mẫu", "Bản sao giấy tờ tùy thân", "Giấy xác nhận của trường"]
    assert docs[0].template == "To khai mau 01.docx"
    assert docs[1].kind is CopyKind.copy and docs[1].copies == 1


def test_legal_basis_codes() -> None:
    cell = "Tên văn bản pháp lýMã văn bảnLuật Hộ tịch60/2014/QH13Nghị định hướng dẫn123/2015/NĐ-CPThông tư 2020"
    assert parse_legal_basis(cell + "Luật ngày 17/6/202068/2020/QH14") == [
        "60/2014/QH13",
        "123/2015/NĐ-CP",
        "68/2020/QH14",
    ]


def _row(code: str, **extra: str) -> dict[str, str]:
    row = {
        "ma_thu_tuc": code,
        "ten_thu_tuc": "Thủ tục thử nghiệm",
        "cap_thuc_hien": "Cấp tỉnh, Cấp xã",
        "linh_vuc": "Hộ tịch",
        "co_quan_thuc_hien": "Ủy ban nhân dân cấp xã",
        "cach_thuc_thuc_hien": HEADER + "Trực tuyến3 Ngày làm việcMiễn phí",
        "thanh_phan_ho_so": "Tên giấy tờMẫu đơn, tờ khaiSố lượngĐơn đề nghị1 bản chính",
        "detail_url": "https://example.invalid/p",
    }
    row.update(extra)
    return row


def test_import_file_reports_and_never_drops_silently(tmp_path: Path) -> None:
    source = tmp_path / "portal.jsonl"
    lines = [
        json.dumps(_row("9.000001"), ensure_ascii=False),
        json.dumps(
            _row("9.000002", cach_thuc_thuc_hien=HEADER + "Trực tiếpxem hướng dẫnmột khoản"), ensure_ascii=False
        ),
        "{not json",
        json.dumps(_row("9.000001"), ensure_ascii=False),
        json.dumps(_row("bad code with spaces"), ensure_ascii=False),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(source, tmp_path / "imported")
    assert (report.read, report.imported) == (5, 2)
    assert len(report.errors) == 3
    assert any(":3:" in e for e in report.errors) and any("repeats" in e for e in report.errors)
    assert any(":5:" in e for e in report.errors)
    assert report.fields["processing_time"].failed == 1 and report.fields["processing_time"].parsed == 1
    records = {json.loads(line)["code"]: json.loads(line) for line in (tmp_path / "imported" / "portal.jsonl").open()}
    assert records["9.000001"]["channels"]["online"] == OnlineLevel.partial.value
    assert records["9.000001"]["levels"] == ["province", "commune"]


def test_own_catalogue_wins_over_import(tmp_path: Path) -> None:
    source = tmp_path / "portal.jsonl"
    source.write_text(
        json.dumps(_row("1.001193", ten_thu_tuc="Tên từ cổng"), ensure_ascii=False) + "\n", encoding="utf-8"
    )
    import_file(source, tmp_path / "imported")
    merged = {r.code: r for r in load_catalog(CATALOG, tmp_path / "imported")}
    assert merged["1.001193"].title.vi == "Đăng ký khai sinh" and merged["1.001193"].origin == "catalogue"


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        import_file(tmp_path / "nope.jsonl", tmp_path / "out")


@pytest.mark.skipif(not (SHARED / "procedures.jsonl").is_file(), reason="shared portal sample not beside the checkout")
def test_all_shared_procedures_import(tmp_path: Path) -> None:
    report = import_file(SHARED / "procedures.jsonl", tmp_path / "imported", SHARED / "langson_online_levels.csv")
    assert report.read == 2642 and report.imported == 2642 and report.errors == []
    for name in ("title", "channels", "processing_time", "fees", "documents", "legal_basis", "steps", "result"):
        assert report.fields[name].rate >= 0.95, (name, report.fields[name])
    assert len(load_catalog(CATALOG, tmp_path / "imported")) >= 2642
