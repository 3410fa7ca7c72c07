"""Settings: every ASSIST_* variable the code reads is documented in the README's table; bad values are named."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_missing_python310_says_how_to_get_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    script = str(PROJECT_ROOT / "scripts" / "find-python310")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no pyenv, no 3.10 in the system paths
    if any(Path(p).exists() for p in ("/usr/bin/python3.10", "/usr/local/bin/python3.10")):
        pytest.skip("this machine has a system Python 3.10")
    result = subprocess.run([script], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert "pyenv install 3.10" in result.stderr and "ASSIST_PYTHON310" in result.stderr
    wrong = subprocess.run([script], env={**env, "ASSIST_PYTHON310": "/bin/sh"}, capture_output=True, text=True)
    assert wrong.returncode == 1 and "ASSIST_PYTHON310=/bin/sh is not a working Python 3.10" in wrong.stderr
    found = subprocess.run([script], capture_output=True, text=True)
    assert found.returncode == 0 and "3.10" in found.stdout
