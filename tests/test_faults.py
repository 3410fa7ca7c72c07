"""Faults on the real stack (action server, Rasa and the web app, started here part by part, with the
app database on PostgreSQL): the action server killed mid-conversation gives the citizen a polite
"temporarily unavailable" and the conversation goes on once it is back; Rasa killed in the middle
of a filing resumes it from the tracker store; the web app restarted is reached again by the same
conversation, with nothing staff wrote meanwhile lost; the app database going away while a draft is
saved gives a clear error, no half-written draft, and a retry that saves it; a missing or corrupt
knowledge index makes start-up say what is wrong and how to rebuild. Along the way: no full
identity-card or phone number in the tracker store's texts, the chat log or any process's log, and
bad input sent to the live API gets the one error shape, never a 5xx."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
from hypothesis import given
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from actions.store import DraftEvent, Store, StoreUnavailable
from knowledge.retriever import KnowledgeUnavailable, open_retriever
from knowledge.settings import PROJECT_ROOT
from scripts.supervise import Stack, StackSettings, free_port
from tests.conftest import DRAFT_DETAILS
from tests.stack import POSTGRES_ADMIN_URL, Supervisor, scratch_postgres
from tests.test_fuzz_api import chat_bodies

CCCD, PHONE = "001090012345", "0912345678"
UNAVAILABLE_VI = "Xin lỗi, trợ lý tạm thời chưa trả lời được. Bạn vui lòng gửi lại câu hỏi sau ít phút."


@dataclass
class Faulty:
    """The stack under test, and the scratch app database it uses."""

    stack: Stack
    database_url: str
    tracker: Path

    @property
    def web(self) -> str:
        return self.stack.settings.url(self.stack.settings.web_port)

    def say(self, sender: str, message: str, **extra: str) -> requests.Response:
        body = {"sender": sender, "message": message, "channel": "kiosk", **extra}
        return requests.post(f"{self.web}/api/chat", json=body, timeout=60)

    def restart(self, name: str) -> None:
        self.stack.start_part(name)
        self.stack.wait_ready(names=[name])


def sender() -> str:
    return f"faults-{time.time_ns()}"


def custom(response: requests.Response, kind: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    found = [m["custom"] for m in response.json()["messages"] if (m["custom"] or {}).get("type") == kind]
    assert found, response.json()
    return found[-1]


def test_a_draft_is_never_half_written(tmp_path: Path) -> None:
    """The failure lands between the draft's row and its first history row: neither is kept."""
    store = Store(f"sqlite:///{tmp_path / 'app.db'}")
    store.engine  # noqa: B018 - create the tables before the fault is armed

    def fail(*_args: Any) -> None:
        raise OperationalError("INSERT INTO draft_events", {}, Exception("disk I/O error"))

    event.listen(DraftEvent, "before_insert", fail)
    try:
        with pytest.raises(StoreUnavailable):
            store.create_draft(**DRAFT_DETAILS)
    finally:
        event.remove(DraftEvent, "before_insert", fail)
    assert store.drafts() == [] and store.drafts_of(DRAFT_DETAILS["sender_id"]) == []
    assert store.create_draft(**DRAFT_DETAILS).state == "draft"  # and the next attempt works


# -- the knowledge index -----------------------------------------------------------------------


CORRUPTIONS = {
    "missing": lambda index: shutil.rmtree(index),
    "meta not json": lambda index: (index / "meta.json").write_text("{not json"),
    "meta not the build's": lambda index: (index / "meta.json").write_text(
        json.dumps({**json.loads((index / "meta.json").read_text()), "passages": [1, 2]})
    ),
    "faiss truncated": lambda index: (index / "passages.faiss").write_bytes(
        (index / "passages.faiss").read_bytes()[:999]
    ),
    "faiss garbage": lambda index: (index / "passages.faiss").write_bytes(b"\x00not an index" * 64),
    "faiss missing": lambda index: (index / "passages.faiss").unlink(),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_broken_index_is_refused_with_how_to_rebuild(retriever, settings, fake_encoder, corruption: str) -> None:  # type: ignore[no-untyped-def]
    CORRUPTIONS[corruption](settings.index_dir)
    with pytest.raises(KnowledgeUnavailable, match=r"rebuild it with `make index` \(or `python -m knowledge build`\)"):
        open_retriever(settings, fake_encoder)


@pytest.mark.parametrize("corruption", ["faiss garbage", "missing"])
def test_start_up_with_a_broken_index_says_what_is_wrong_and_how_to_rebuild(tmp_path: Path, corruption: str) -> None:
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "knowledge" / "data" / "catalog", data / "catalog")
    shutil.copytree(PROJECT_ROOT / "knowledge" / "data" / "index", data / "index")
    CORRUPTIONS[corruption](data / "index")
    sup = Supervisor(env={"ASSIST_DATA_DIR": str(data)})
    try:
        assert sup.proc.wait(300) == 1
    finally:
        sup.stop()
    said = "".join(sup.output)
    what = "passages.faiss is missing or corrupt" if corruption == "faiss garbage" else "no knowledge index in"
    [line] = [line for line in sup.output if line.startswith("!! actions: ")]
    assert what in line and "rebuild it with `make index`" in line, said[-2000:]
    assert "!! stopping everything" in said


# -- the running stack ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    scratch = tmp_path_factory.mktemp("faults")
    with scratch_postgres("assist_faults") as database_url:
        settings = StackSettings(rasa_port=free_port(), actions_port=free_port(), web_port=free_port(), web_workers=1)
        env = {
            **os.environ,
            "ASSIST_DATABASE_URL": database_url,
            "ASSIST_TRACKER_DB": str(scratch / "tracker.db"),
            "ASSIST_OPENING_HOURS": "mon-sun 00:00-23:59",
        }
        stack = Stack(settings, env, quiet=True)
        stack.start()
        try:
            stack.wait_ready()
            yield Faulty(stack, database_url, scratch / "tracker.db")
        finally:
            stack.stop()


def test_action_server_killed_mid_conversation(faulty: Faulty) -> None:
    me = sender()
    assert custom(faulty.say(me, "tôi muốn đăng ký khai sinh cho con"), "procedure")["code"] == "1.001193"
    faulty.stack.kill("actions")

    down = faulty.say(me, "lệ phí bao nhiêu")
    assert down.status_code == 200
    assert down.json()["messages"] == [{"text": UNAVAILABLE_VI, "buttons": [], "custom": {"type": "unavailable"}}]
    english = faulty.say(f"{me}-en", "How do I apply for a passport?", lang="en")
    assert custom(english, "unavailable") and "temporarily unavailable" in english.json()["messages"][0]["text"]

    faulty.restart("actions")
    fee = custom(faulty.say(me, "lệ phí bao nhiêu"), "procedure")
    assert (fee["code"], fee["aspect"]) == ("1.001193", "fee")  # the conversation went on where it was


def _fill_until(faulty: Faulty, me: str, last_slot: str) -> None:
    """Ask about birth registration, start the filing and answer until the form asks for `last_slot`."""
    answers = [
        ("tôi muốn đăng ký khai sinh cho con", None),
        ("tôi muốn nộp hồ sơ luôn", "applicant_name"),
        ("Nguyễn Văn An", "cccd"),
        (CCCD, "dob"),
        ("15/03/1990", "phone"),
        (PHONE, "commune"),
        ("Phường Đông Kinh", "delivery"),
    ]
    for message, asks in answers:
        reply = faulty.say(me, message)
        if asks is not None:
            assert custom(reply, "ask")["slot"] == asks
        if asks == last_slot:
            return
    raise AssertionError(f"the form never asked for {last_slot}")


def test_rasa_killed_mid_filing_resumes_from_the_tracker_store(faulty: Faulty) -> None:
    me = sender()
    _fill_until(faulty, me, "dob")
    faulty.stack.kill("rasa")

    down = faulty.say(me, "15/03/1990")
    assert down.status_code == 503 and down.json()["error"]["code"] == "assistant_unavailable"

    faulty.restart("rasa")
    assert custom(faulty.say(me, "15/03/1990"), "ask")["slot"] == "phone"  # name and CCCD were kept
    assert custom(faulty.say(me, PHONE), "ask")["slot"] == "commune"
    assert custom(faulty.say(me, "Phường Đông Kinh"), "ask")["slot"] == "delivery"
    draft = custom(faulty.say(me, "centre"), "filing_draft")
    saved = Store(faulty.database_url).get_draft(draft["reference"])
    assert saved is not None and (saved.full_name, saved.cccd, saved.phone) == ("Nguyễn Văn An", CCCD, PHONE)

    # Privacy, on what the stack really wrote: the numbers are masked in the tracker store's texts,
    # in the chat log and in every process's log; only the draft holds them whole.
    engine = create_engine(f"sqlite:///{faulty.tracker}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type_name, data FROM events WHERE sender_id = :s AND type_name IN ('user', 'bot')"),
            {"s": me},
        ).all()
    engine.dispose()
    texts = "\n".join(data for _, data in rows)
    assert '"text": "001******345"' in texts and '"text": "091****678"' in texts
    assert CCCD not in texts and PHONE not in texts
    turns = Store(faulty.database_url).turns(sender_id=me)
    assert turns and not any(CCCD in t.user_text + t.bot_text or PHONE in t.user_text + t.bot_text for t in turns)
    logs = "\n".join(line for lines in faulty.stack.logs.values() for line in lines)
    assert CCCD not in logs and PHONE not in logs


def test_web_app_restarted_the_conversation_carries_on(faulty: Faulty) -> None:
    me = sender()
    assert custom(faulty.say(me, "tôi muốn đăng ký khai sinh cho con"), "procedure")["code"] == "1.001193"
    faulty.stack.kill("web")
    with pytest.raises(requests.ConnectionError):  # what the widget sees: it shows "reconnecting" and retries
        faulty.say(me, "lệ phí bao nhiêu")
    store = Store(faulty.database_url)
    handoff = store.open_handoff(me, "kiosk", "vi")
    store.post_staff_message(handoff.id, "Lan", "Tôi đến ngay")  # written while the web app was down

    faulty.restart("web")
    fee = custom(faulty.say(me, "lệ phí bao nhiêu"), "procedure")
    assert (fee["code"], fee["aspect"]) == ("1.001193", "fee")
    updates = requests.get(f"{faulty.web}/api/chat/updates", params={"sender": me}, timeout=10).json()
    assert updates == {"messages": [{"from": "staff", "author": "Lan", "text": "Tôi đến ngay"}]}


def _set_connections(database_url: str, allowed: bool) -> None:
    """Open or close the app database to every new connection, and end the ones it has."""
    name = make_url(database_url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
    admin.dispose()


def test_app_database_down_while_saving_a_draft(faulty: Faulty) -> None:
    me = sender()
    _fill_until(faulty, me, "delivery")
    _set_connections(faulty.database_url, allowed=False)
    try:
        failed = faulty.say(me, "centre")
        assert custom(failed, "error") == {"type": "error", "code": "draft_not_saved"}
        assert failed.json()["turn"] is None  # the chat log is down too, and the chat still answers
        buttons = [b["payload"] for m in failed.json()["messages"] for b in m["buttons"]]
        assert "/start_filing" in buttons and "/request_human" in buttons
    finally:
        _set_connections(faulty.database_url, allowed=True)
    store = Store(faulty.database_url)
    assert store.drafts_of(me) == []  # nothing half-written

    retried = custom(faulty.say(me, "/start_filing"), "filing_draft")  # the details were kept: no retyping
    [draft] = store.drafts_of(me)
    assert draft.reference == retried["reference"] and (draft.cccd, draft.phone) == (CCCD, PHONE)


@hypothesis.settings(max_examples=40, deadline=None, database=None)
@given(body=chat_bodies)
def test_live_api_answers_bad_input_in_the_error_shape(faulty: Faulty, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()  # NaN and Infinity too, as a careless client would send them
    response = requests.post(
        f"{faulty.web}/api/chat", data=raw, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message"}
