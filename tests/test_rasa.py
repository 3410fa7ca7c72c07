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
    "PYTHONPATH": str(PROJECT_ROOT),  # our NLU components (bot/components) load from any working directory
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


PARSE = """
import asyncio, json, sys
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
texts = json.load(sys.stdin)
async def parse():
    return [await agent.parse_message(t) for t in texts]
print(json.dumps([m["intent"]["name"] for m in asyncio.run(parse())]))
"""


def _intents(texts: list[str]) -> list[str]:
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"), "-c", PARSE, str(MODEL)],
        input=json.dumps(texts), cwd="/", env=ENV, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nlu_reads_each_language_and_refuses_gibberish() -> None:
    """The trained pipeline (folded tokens, e5 sentence features, linear classifier) as loaded by Rasa."""
    assert MODEL.is_file(), "run `make train` first"
    cases = {
        "đăng ký khai sinh cho con tôi thế nào": "ask_procedure",
        "dang ky khai sinh cho con toi the nao": "ask_procedure",
        "how much does a new passport cost": "ask_fee",
        "পাসপোর্ট করতে কত টাকা লাগে": "ask_fee",
        "lam can cuoc mat bao lau": "ask_processing_time",
        "can I do it online without going to the office": "ask_online",
        "tôi muốn gặp cán bộ": "request_human",
        "xyz": "nlu_fallback",
        "zzqq xxv": "nlu_fallback",
        "qwpoeiru asdkj": "nlu_fallback",
    }
    assert _intents(list(cases)) == list(cases.values())
