"""Settings: every ASSIST_* variable the code reads is documented in the README's table; bad values are named."""

from __future__ import annotations

import re

import pytest

from knowledge.settings import PROJECT_ROOT, KnowledgeSettings
from scripts.supervise import StackError, StackSettings
from web import DEFAULTS

CODE_DIRS = ["knowledge", "actions", "web", "scripts", "bot"]


def _settings_in_code() -> set[str]:
    found: set[str] = set()
    for folder in CODE_DIRS:
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".yml", ".sh", ""} and path.is_file():
                found |= set(re.findall(r"ASSIST_[A-Z0-9_]+", path.read_text(encoding="utf-8", errors="ignore")))
    found |= {f"ASSIST_{key}" for key in DEFAULTS}  # read by Flask's from_prefixed_env
    found |= set(re.findall(r"ASSIST_[A-Z0-9_]+", (PROJECT_ROOT / "Makefile").read_text()))
    return found


def _settings_in_readme() -> set[str]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(ASSIST_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))


def test_readme_table_lists_every_setting() -> None:
    in_code, in_readme = _settings_in_code(), _settings_in_readme()
    assert in_code, "no settings found: the scan is broken"
    assert in_code - in_readme == set(), "settings missing from the README table"
    assert in_readme - in_code == set(), "README documents settings the code no longer reads"


def test_stack_settings_name_the_bad_key() -> None:
    assert StackSettings.from_env({}).web_port == 8000
    assert StackSettings.from_env({"ASSIST_WEB_PORT": "8100", "ASSIST_HOST": "::1"}).url(8100) == "http://[::1]:8100"
    with pytest.raises(StackError, match="ASSIST_RASA_PORT='abc'"):
        StackSettings.from_env({"ASSIST_RASA_PORT": "abc"})
    with pytest.raises(StackError, match="ASSIST_WEB_PORT='70000' is out of range"):
        StackSettings.from_env({"ASSIST_WEB_PORT": "70000"})


def test_knowledge_settings_defaults_and_overrides(tmp_path) -> None:  # type: ignore[no-untyped-def]
    default = KnowledgeSettings.from_env({})
    assert default.catalog_dir == PROJECT_ROOT / "knowledge" / "data" / "catalog"
    other = KnowledgeSettings.from_env({"ASSIST_DATA_DIR": str(tmp_path), "ASSIST_EMBEDDING_MODEL": "some/model"})
    assert other.index_dir == tmp_path / "index" and other.model == "some/model"
