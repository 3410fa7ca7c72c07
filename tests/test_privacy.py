"""Privacy: identity-card and phone numbers are masked in every log line; the retention purge removes
old conversations, turns, feedback and drafts from the app database and Rasa's tracker store and
keeps what is recent; sender ids are long enough to be unguessable; one conversation never reads
another's staff messages or rates another's answers. (The stack-level checks, on the real tracker
store and logs, are in tests/test_faults.py.)"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text, update

from actions.privacy import install_log_masking
from actions.store import ChatTurn, Draft, Feedback, Handoff, HandoffMessage, Store, now
from knowledge.settings import PROJECT_ROOT
from scripts.purge import PurgeError, purge_tracker, retention_days, tracker_url
from tests.conftest import DRAFT_DETAILS
from web import create_app, rasa_client

CCCD, PHONE = "001090012345", "0912345678"


@pytest.fixture
def masked_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing to a buffer, with masking installed (and the record factory restored after)."""
    original = logging.getLogRecordFactory()
    install_log_masking()
    install_log_masking()  # twice: still masks once
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test-privacy")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)
    logging.setLogRecordFactory(original)


def test_log_lines_never_hold_a_full_cccd_or_phone(masked_log) -> None:  # type: ignore[no-untyped-def]
    logger, out = masked_log
    logger.warning("draft for %s, phone %s", CCCD, PHONE)
    logger.warning(f"inline {CCCD} and +84{PHONE[1:]}")
    logger.warning({"cccd": CCCD})  # not a string at all
    try:
        raise ValueError(f"bad number {CCCD}")
    except ValueError:
        logger.exception("failed for %s", PHONE)
    logger.warning("no numbers, 100%% fine: %d items", 3)
    written = out.getvalue()
    assert CCCD not in written and PHONE not in written and PHONE[1:] not in written, written
    assert "001******345" in written and "091****678" in written and "+8491****678" in written
    assert "bad number 001******345" in written and "Traceback" in written
    assert "no numbers, 100% fine: 3 items" in written


def test_a_malformed_log_call_is_reported_with_masked_arguments(masked_log) -> None:  # type: ignore[no-untyped-def]
    make = logging.getLogRecordFactory()
    record = make("test-privacy", logging.WARNING, __file__, 1, "two placeholders %s %s", (CCCD,), None)
    assert record.args == ("001******345",)  # logging's own error report prints these


# -- retention -----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'app.db'}")


def _age(store: Store, model: Any, row_id: int, days: int, *columns: str) -> None:
    """Move a row's timestamps `days` into the past."""
    when = now() - dt.timedelta(days=days)
    with store.session() as session:
        session.execute(update(model).where(model.id == row_id).values(**dict.fromkeys(columns, when)))


def test_store_purge_removes_what_is_old_and_keeps_the_rest(store: Store) -> None:
    old_draft = store.create_draft(**{**DRAFT_DETAILS, "sender_id": "old-sender-0000001"})
    new_draft = store.create_draft(**DRAFT_DETAILS)
    old_turn = store.log_turn("old-sender-0000001", "kiosk", "vi", "hỏi", "đáp", "answered", None)
    new_turn = store.log_turn(DRAFT_DETAILS["sender_id"], "kiosk", "vi", "hỏi", "đáp", "answered", None)
    store.add_feedback("old-sender-0000001", turn_id=old_turn, thumb=1, rating=None)
    store.add_feedback("old-sender-0000001", turn_id=None, thumb=None, rating=4)
    closed = store.open_handoff("old-sender-0000001", "kiosk", "vi")
    store.post_staff_message(closed.id, "Lan", "Xin chào")
    store.close_handoff(closed.id)
    still_open = store.open_handoff("waiting-sender-001", "portal", "en")
    with store.session() as session:
        old_id = session.scalar(select(Draft.id).where(Draft.reference == old_draft.reference))
        feedback_ids = session.scalars(select(Feedback.id).order_by(Feedback.id)).all()
    assert old_id is not None
    _age(store, Draft, old_id, 120, "created_at", "updated_at")
    _age(store, ChatTurn, old_turn, 120, "at")
    _age(store, Feedback, feedback_ids[1], 120, "at")  # the rating is old; the thumb on the old turn is new
    _age(store, Handoff, closed.id, 120, "opened_at", "closed_at")
    _age(store, Handoff, still_open.id, 120, "opened_at")

    counts = store.purge(now() - dt.timedelta(days=90))

    assert counts == {
        "draft_events": 1,
        "drafts": 1,
        "handoff_messages": 1,
        "handoffs": 1,
        "feedback": 1,
        "chat_turns": 1,
    }
    assert store.get_draft(old_draft.reference) is None and store.get_draft(new_draft.reference) is not None
    assert [t.id for t in store.turns(sender_id=DRAFT_DETAILS["sender_id"])] == [new_turn]
    assert store.turns(sender_id="old-sender-0000001") == []
    assert [h.id for h in store.open_handoffs()] == [still_open.id]  # open requests stay, however old
    with store.session() as session:
        assert session.scalars(select(HandoffMessage)).all() == []
        kept = session.scalars(select(Feedback)).all()
        assert [(f.thumb, f.turn_id) for f in kept] == [(1, None)]  # no longer points at the purged turn
    assert store.purge(now() - dt.timedelta(days=90)) == dict.fromkeys(counts, 0)


# Rasa's tracker table, as rasa.core.tracker_store.SQLTrackerStore creates it.
EVENTS_DDL = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT
)
"""


def _tracker(path: Path, rows: list[tuple[str, str, float]]) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(EVENTS_DDL))
        for sender, kind, stamp in rows:
            conn.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :k, :t, :d)"),
                {"s": sender, "k": kind, "t": stamp, "d": json.dumps({"event": kind, "timestamp": stamp})},
            )
    engine.dispose()
    return url


def _events(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sender_id, type_name FROM events ORDER BY id")).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_tracker_purge_keeps_what_rasa_reads_of_a_conversation_still_going_on(tmp_path: Path) -> None:
    day = 86400.0
    today = now().replace(tzinfo=dt.UTC).timestamp()
    url = _tracker(
        tmp_path / "tracker.db",
        [
            # finished long ago: all of it goes
            ("ended", "action", today - 200 * day),
            ("ended", "session_started", today - 200 * day),
            ("ended", "user", today - 199 * day),
            # an old session and a new one: the old session goes, the current one stays whole
            ("ongoing", "session_started", today - 150 * day),
            ("ongoing", "user", today - 150 * day),
            ("ongoing", "session_started", today - 100 * day),
            ("ongoing", "slot", today - 100 * day),
            ("ongoing", "user", today - 1 * day),
            # one long session that began before the cutoff: Rasa still needs all of it
            ("long", "session_started", today - 95 * day),
            ("long", "user", today - 95 * day),
            ("long", "user", today),
            ("recent", "session_started", today - 1 * day),
        ],
    )
    removed = purge_tracker(url, now() - dt.timedelta(days=90))
    assert removed == 5
    assert _events(url) == [
        ("ongoing", "session_started"),
        ("ongoing", "slot"),
        ("ongoing", "user"),
        ("long", "session_started"),
        ("long", "user"),
        ("long", "user"),
        ("recent", "session_started"),
    ]


def test_tracker_purge_without_a_tracker_yet(tmp_path: Path) -> None:
    assert purge_tracker(f"sqlite:///{tmp_path / 'none.db'}", now()) == 0
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    create_engine(empty).connect().close()
    assert purge_tracker(empty, now()) == 0


def test_retention_setting_is_read_and_checked() -> None:
    assert retention_days({}) == 90 and retention_days({"ASSIST_RETENTION_DAYS": "30"}) == 30
    assert retention_days({"ASSIST_RETENTION_DAYS": "0"}) == 0
    with pytest.raises(PurgeError, match="ASSIST_RETENTION_DAYS='soon'"):
        retention_days({"ASSIST_RETENTION_DAYS": "soon"})
    with pytest.raises(PurgeError, match="negative"):
        retention_days({"ASSIST_RETENTION_DAYS": "-1"})
    assert tracker_url({"ASSIST_TRACKER_DB": "/x/t.db"}) == "sqlite:////x/t.db"
    assert tracker_url({"ASSIST_TRACKER_URL": "postgresql://h/db", "ASSIST_TRACKER_DB": "/x"}) == "postgresql://h/db"


def test_purge_command_purges_both_databases(tmp_path: Path, store: Store) -> None:
    store.create_draft(**DRAFT_DETAILS)
    with store.session() as session:
        session.execute(update(Draft).values(updated_at=now() - dt.timedelta(days=40)))
    stamp = now().replace(tzinfo=dt.UTC).timestamp() - 40 * 86400
    tracker = _tracker(tmp_path / "tracker.db", [("someone", "session_started", stamp)])
    env = {"ASSIST_DATABASE_URL": store.url, "ASSIST_TRACKER_URL": tracker, "ASSIST_RETENTION_DAYS": "30"}

    def run(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scripts.purge"],
            cwd=PROJECT_ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
        )

    kept = run({"ASSIST_RETENTION_DAYS": "60"})
    assert kept.returncode == 0 and "drafts 0" in kept.stdout and "tracker_events 0" in kept.stdout, kept.stderr
    done = run({})
    assert done.returncode == 0, done.stderr
    assert "older than 30 days" in done.stdout and "drafts 1" in done.stdout and "tracker_events 1" in done.stdout
    assert store.drafts() == [] and _events(tracker) == []
    wrong = run({"ASSIST_RETENTION_DAYS": "soon"})
    assert wrong.returncode == 1 and "ASSIST_RETENTION_DAYS='soon'" in wrong.stderr


# -- sessions ------------------------------------------------------------------------------------


@pytest.fixture
def web_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    replies = [{"text": "Xin chào!"}]
    monkeypatch.setattr(rasa_client, "send_message", lambda *args: replies)
    app = create_app(
        {
            "TESTING": True,
            "RASA_URL": "http://127.0.0.1:9",
            "ACTIONS_URL": "http://127.0.0.1:9",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        }
    )
    return app.test_client()


@pytest.mark.parametrize(
    ("sender", "accepted"),
    [("a" * 15, False), ("a1B2-c3_d4e5f6g7", True), ("a" * 128, True), ("a" * 129, False), ("a" * 16 + "\n", False)],
)
def test_sender_ids_are_long_enough_to_be_unguessable(web_client, sender: str, accepted: bool) -> None:  # type: ignore[no-untyped-def]
    chat = web_client.post("/api/chat", json={"sender": sender, "message": "xin chào"})
    updates = web_client.get("/api/chat/updates", query_string={"sender": sender})
    rating = web_client.post("/api/feedback", json={"sender": sender, "rating": 5})
    if accepted:
        assert (chat.status_code, updates.status_code, rating.status_code) == (200, 200, 201)
    else:
        for response in (chat, updates, rating):
            assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_sender"


def test_one_conversation_cannot_read_or_rate_another(web_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice, bob = "alice-session-0000000001", "bob-session-00000000002"
    turn = web_client.post("/api/chat", json={"sender": alice, "message": "xin chào"}).get_json()["turn"]
    assert isinstance(turn, int)
    store = Store(f"sqlite:///{tmp_path / 'app.db'}")
    handoff = store.open_handoff(alice, "portal", "vi")
    store.post_staff_message(handoff.id, "Lan", "Chị Lan đây, tôi gọi lại ngay")

    assert web_client.get("/api/chat/updates", query_string={"sender": bob}).get_json() == {"messages": []}
    bob_rates = web_client.post("/api/feedback", json={"sender": bob, "turn": turn, "thumb": "down"})
    assert bob_rates.status_code == 404 and bob_rates.get_json()["error"]["code"] == "not_found"
    mine = web_client.get("/api/chat/updates", query_string={"sender": alice}).get_json()["messages"]
    assert [m["text"] for m in mine] == ["Chị Lan đây, tôi gọi lại ngay"]
    assert web_client.post("/api/feedback", json={"sender": alice, "turn": turn, "thumb": "up"}).status_code == 201
    assert [t.thumb for t in store.turns(sender_id=alice)] == [1]
