"""The Rasa project is consistent (`rasa data validate`) and predicts the test conversations exactly
in vi, vi without diacritics, en and bn (`rasa test` with --fail-on-prediction-errors)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from knowledge.settings import PROJECT_ROOT

RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
ENV = {
    **os.environ,
    "RASA_TELEMETRY_ENABLED": "false",
    "PYTHONWARNINGS": "ignore",
    "ASSIST_ACTIONS_URL": "http://127.0.0.1:5055",
    "ASSIST_TRACKER_DB": "/tmp/assist-rasa-test-tracker.db",
}

pytestmark = pytest.mark.skipif(not RASA.exists(), reason="the Rasa environment is made by `make test`")


def _rasa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RASA), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)


def test_data_validates_without_warnings() -> None:
    result = _rasa(
        "data", "validate", "--fail-on-warnings", "--config", "config.yml", "--domain", "bot/domain",
        "--data", "bot/data", cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversations_are_predicted_exactly(tmp_path: Path) -> None:
    assert MODEL.is_file(), "run `make train` first"
    result = _rasa(
        "test", "core", "--model", str(MODEL), "--stories", str(PROJECT_ROOT / "tests" / "bot"),
        "--endpoints", str(PROJECT_ROOT / "bot" / "endpoints.yml"), "--fail-on-prediction-errors",
        "--out", str(tmp_path / "results"), cwd=tmp_path,
    )  # fmt: skip
    failed = tmp_path / "results" / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert result.returncode == 0, details[-4000:] or (result.stdout[-3000:] + result.stderr[-3000:])


def test_every_test_message_gets_its_intent(tmp_path: Path) -> None:
    """`rasa test core` checks the bot's actions; this checks the NLU reading of each user message."""
    assert MODEL.is_file(), "run `make train` first"
    stories = yaml.safe_load((PROJECT_ROOT / "tests" / "bot" / "test_stories.yml").read_text(encoding="utf-8"))
    by_intent: dict[str, list[str]] = {}
    for story in stories["stories"]:
        for step in story["steps"]:
            # nlu_fallback is not a class but a confidence threshold, which `rasa test nlu` does not
            # apply: those messages (form answers, gibberish) are left to the conversation tests.
            if "user" in step and step["intent"] != "nlu_fallback":
                by_intent.setdefault(step["intent"], []).append(step["user"].strip())
    nlu = {
        "version": "3.1",
        "nlu": [{"intent": k, "examples": "".join(f"- {t}\n" for t in v)} for k, v in by_intent.items()],
    }
    (tmp_path / "nlu.yml").write_text(yaml.safe_dump(nlu, allow_unicode=True), encoding="utf-8")
    result = _rasa(
        "test", "nlu", "--model", str(MODEL), "--nlu", str(tmp_path / "nlu.yml"), "--out", str(tmp_path / "out"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    errors_file = tmp_path / "out" / "intent_errors.json"  # written only when something was misread
    errors = json.loads(errors_file.read_text(encoding="utf-8")) if errors_file.exists() else []
    assert errors == [], [(e["text"], e["intent"], e["intent_prediction"]["name"]) for e in errors]
    report = json.loads((tmp_path / "out" / "intent_report.json").read_text(encoding="utf-8"))
    assert report["accuracy"] == 1.0
