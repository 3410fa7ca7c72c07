"""Every record of our catalogue is valid, and invalid records are refused with the file and field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.catalog import CatalogError, fingerprint, load_catalog, merge
from knowledge.schema import LANGS
from tests.conftest import CATALOG


def test_our_catalogue_loads_and_is_trilingual() -> None:
    records = load_catalog(CATALOG)
    assert len(records) >= 10
    for record in records:
        for lang in LANGS:
            assert getattr(record.title, lang), f"{record.code}: title.{lang} missing"
            assert getattr(record.summary, lang), f"{record.code}: summary.{lang} missing"


def test_birth_registration_facts() -> None:
    birth = {r.code: r for r in load_catalog(CATALOG)}["1.001193"]
    assert birth.title.vi == "Đăng ký khai sinh"
    assert birth.is_free()
    assert birth.processing_time is not None and birth.processing_time.amount == 1
    assert any("chứng sinh" in d.name.vi for d in birth.documents)


def _write(folder: Path, name: str, data: object) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _record() -> dict:
    return yaml.safe_load((CATALOG / "1.001193.yml").read_text(encoding="utf-8"))


def test_error_names_file_and_field(tmp_path: Path) -> None:
    bad = _record()
    bad["fees"][0]["amount"] = -5
    _write(tmp_path / "catalog", "1.001193.yml", bad)
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "catalog")
    assert "1.001193.yml" in str(info.value)
    assert "fees.0.amount" in str(info.value)


def test_unknown_field_and_missing_vietnamese_are_refused(tmp_path: Path) -> None:
    bad = _record()
    bad["fee"] = "free"
    _write(tmp_path / "catalog", "1.001193.yml", bad)
    with pytest.raises(CatalogError, match="fee: Extra inputs"):
        load_catalog(tmp_path / "catalog")
    bad = _record()
    del bad["title"]["vi"]
    _write(tmp_path / "catalog", "1.001193.yml", bad)
    with pytest.raises(CatalogError, match=r"title\.vi"):
        load_catalog(tmp_path / "catalog")


def test_online_procedure_needs_link_and_file_name_must_match(tmp_path: Path) -> None:
    bad = _record()
    del bad["channels"]["portal_url"]
    _write(tmp_path / "catalog", "1.001193.yml", bad)
    with pytest.raises(CatalogError, match="portal_url"):
        load_catalog(tmp_path / "catalog")
    _write(tmp_path / "other", "1.999999.yml", _record())
    with pytest.raises(CatalogError, match=r"named '1\.999999'"):
        load_catalog(tmp_path / "other")


def test_broken_yaml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "1.001193.yml").write_text("code: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(tmp_path / "catalog")


def test_own_entries_win_and_fingerprint_tracks_content() -> None:
    records = load_catalog(CATALOG)
    birth = next(r for r in records if r.code == "1.001193")
    imported = birth.model_copy(update={"origin": "import", "title": birth.title.model_copy(update={"vi": "X"})})
    merged = merge([birth], [imported])
    assert merged == [birth]
    assert fingerprint([birth]) != fingerprint([imported])
    assert fingerprint(records) == fingerprint(load_catalog(CATALOG))
