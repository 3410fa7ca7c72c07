"""The code of ours that Rasa loads (bot/tracker_store.py, bot/rasa_speedups.py), run in the Rasa
environment: the tracker store keeps user and bot texts with CCCD and phone numbers masked but the
form's slot values whole, reads conversations back, and writes SQLite ahead of the log; Rasa's
check of action server replies still accepts good replies and refuses bad ones with the same error,
without re-checking its own schema on every call."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from knowledge.settings import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
pytestmark = pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the Rasa environment is made by `make test`")

TRACKER_SCRIPT = """
import asyncio, json, sqlite3, sys
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from bot.tracker_store import MaskingSQLTrackerStore

path = sys.argv[1]
domain = Domain.from_dict({"slots": {"cccd": {"type": "text", "mappings": [{"type": "custom"}]}}})
store = MaskingSQLTrackerStore(domain=domain, dialect="sqlite", db=path)
tracker = DialogueStateTracker.from_events("someone-0000000001", [
    ActionExecuted("action_listen"),
    UserUttered("số tôi là 001090012345, gọi 0912345678", parse_data={
        "text": "số tôi là 001090012345, gọi 0912345678",
        "intent": {"name": "inform", "confidence": 0.9},
        "entities": [{"entity": "cccd", "value": "001090012345", "start": 10, "end": 22}],
    }),
    SlotSet("cccd", "001090012345"),
    BotUttered("Số CCCD 001090012345 đã nhận"),
], domain.slots)
asyncio.run(store.save(tracker))
again = asyncio.run(store.retrieve("someone-0000000001"))
rows = sqlite3.connect(path).execute("SELECT type_name, data FROM events ORDER BY id").fetchall()
mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
print(json.dumps({
    "rows": [[kind, json.loads(data)] for kind, data in rows],
    "slot": again.get_slot("cccd"),
    "latest": again.latest_message.text,
    "events": len(again.events),
    "journal": mode,
}))
"""

VALIDATION_SCRIPT = """
import json
import jsonschema
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from bot import rasa_speedups

assert rasa_speedups.apply() and rasa_speedups.apply()  # twice: installed once
checks = []
original = jsonschema.validators.Draft202012Validator.check_schema
jsonschema.validators.Draft202012Validator.check_schema = classmethod(
    lambda cls, schema, **kw: checks.append(1) or original.__func__(cls, schema, **kw)
)
action = RemoteAction.__new__(RemoteAction)
good = {"events": [{"event": "slot", "name": "language", "value": "vi"}], "responses": [{"text": "hi"}]}
accepted = [action._validate_action_result(good) for _ in range(5)]
refused = []
for bad in ({"events": "not a list"}, {"events": [{"no": "event"}]}, {"responses": [1]}):
    try:
        action._validate_action_result(bad)
        refused.append(None)
    except ValidationError as exc:
        refused.append(exc.message)
print(json.dumps({"accepted": accepted, "refused": refused, "schema_checks": len(checks)}))
"""


def _run(script: str, *args: str) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_tracker_store_masks_texts_and_keeps_slot_values(tmp_path: Path) -> None:
    found = _run(TRACKER_SCRIPT, str(tmp_path / "tracker.db"))
    by_kind = {kind: data for kind, data in found["rows"]}
    user, bot, slot = by_kind["user"], by_kind["bot"], by_kind["slot"]
    assert user["text"] == "số tôi là 001******345, gọi 091****678"
    assert user["parse_data"]["text"] == user["text"]
    assert user["parse_data"]["entities"][0]["value"] == "001******345"
    assert user["parse_data"]["intent"]["name"] == "inform"  # the rest of the event is untouched
    assert bot["text"] == "Số CCCD 001******345 đã nhận"
    assert slot["value"] == "001090012345"  # a form resumed after a restart still has it
    assert "001090012345" not in json.dumps([user, bot]) and "0912345678" not in json.dumps([user, bot])
    assert found["slot"] == "001090012345" and found["latest"] == user["text"] and found["events"] == 4
    assert found["journal"] == "wal"


def test_action_replies_are_checked_as_rasa_checks_them_without_the_per_call_schema_check() -> None:
    found = _run(VALIDATION_SCRIPT)
    assert found["accepted"] == [True] * 5
    assert all(message and "Failed to validate Action server response" in message for message in found["refused"])
    assert found["schema_checks"] == 0  # Rasa's own jsonschema.validate() re-checks the schema every call
