"""Load and validate the procedure catalogue: our own YAML records, then imported ones."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from knowledge.schema import Procedure


class CatalogError(ValueError):
    """A catalogue file is invalid; the message names the file and the field."""


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(record)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_record(data: object, source: str) -> Procedure:
    """Validate one record; errors name `source` and each failing field."""
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return Procedure.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{source}: {_describe(exc)}") from None


def load_yaml_dir(folder: Path) -> list[Procedure]:
    records = []
    for path in sorted(folder.glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML ({exc})") from None
        record = parse_record(data, str(path))
        if path.stem != record.code:
            raise CatalogError(f"{path}: field code is {record.code!r} but the file is named {path.stem!r}")
        records.append(record)
    return records


def load_jsonl(path: Path) -> list[Procedure]:
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                records.append(parse_record(json.loads(line), f"{path}:{number}"))
    return records


def merge(own: Iterable[Procedure], imported: Iterable[Procedure]) -> list[Procedure]:
    """Our own entries win over imported ones with the same code."""
    by_code: dict[str, Procedure] = {}
    for record in imported:
        by_code[record.code] = record
    for record in own:
        by_code[record.code] = record
    return sorted(by_code.values(), key=lambda r: r.code)


def load_catalog(catalog_dir: Path, imported_dir: Path | None = None) -> list[Procedure]:
    """Every procedure the assistant knows, validated."""
    if not catalog_dir.is_dir():
        raise CatalogError(f"{catalog_dir}: catalogue folder not found")
    own = load_yaml_dir(catalog_dir)
    seen: set[str] = set()
    for record in own:
        if record.code in seen:
            raise CatalogError(f"{catalog_dir}: code {record.code} appears twice")
        seen.add(record.code)
    imported: list[Procedure] = []
    if imported_dir is not None and imported_dir.is_dir():
        for path in sorted(imported_dir.glob("*.jsonl")):
            imported.extend(load_jsonl(path))
    return merge(own, imported)


def fingerprint(records: Iterable[Procedure]) -> str:
    """A content hash of the catalogue: the index is rebuilt when it changes."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(record.model_dump_json().encode("utf-8"))
    return digest.hexdigest()[:16]
