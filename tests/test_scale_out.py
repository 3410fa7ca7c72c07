"""Scale-out on the real servers: `ASSIST_RASA_SERVERS=2` with `bot/endpoints-scale.yml` runs two
Rasa servers and two action servers that share a tracker store on PostgreSQL, a lock store on Redis
and the app database on PostgreSQL (scratch databases and a scratch Redis prefix per run). The
messages of one conversation sent alternately to both Rasa servers keep their context and their
order — also when they arrive while the previous one is still being handled — and both servers
read the same conversation back; a filing made through the web app lands in PostgreSQL and its
status can be looked up on either server; when one Rasa server dies the web app carries on through
the other; the retention purge works on the PostgreSQL tracker store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from actions.store import Store
from knowledge.settings import PROJECT_ROOT
from tests.stack import REDIS_HOST, REDIS_PORT, Supervisor, redis_prefix, scratch_postgres

pytestmark = pytest.mark.e2e
CCCD, PHONE = "001090012345", "0912345678"


@dataclass
class Scaled:
    sup: Supervisor
    app_db: str
    tracker_db: str
    prefix: str

    def rasa_say(self, server: int, sender: str, message: str) -> list[dict[str, Any]]:
        """Send one message straight to Rasa server `server` (0 or 1) through its REST channel."""
        url = f"{self.sup.rasa[server]}/webhooks/rest/webhook"
        reply = requests.post(url, json={"sender": sender, "message": message}, timeout=120)
        assert reply.status_code == 200, reply.text
        return list(reply.json())

    def web_say(self, sender: str, message: str) -> list[dict[str, Any]]:
        body = {"sender": sender, "message": message, "channel": "kiosk"}
        reply = requests.post(f"{self.sup.web}/api/chat", json=body, timeout=120)
        assert reply.status_code == 200, reply.text
        return list(reply.json()["messages"])

    def tracker(self, server: int, sender: str) -> list[dict[str, Any]]:
        reply = requests.get(f"{self.sup.rasa[server]}/conversations/{sender}/tracker", timeout=30)
        assert reply.status_code == 200, reply.text
        return list(reply.json()["events"])


def sender() -> str:
    return f"scale-{time.time_ns()}"


def payload(messages: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [m["custom"] for m in messages if isinstance(m.get("custom"), dict) and m["custom"].get("type") == kind]
    assert found, messages
    return found[-1]


def user_texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "user"]


@pytest.fixture(scope="module")
def scaled() -> Iterator[Scaled]:
    prefix = redis_prefix()
    with scratch_postgres("assist_app") as app_db, scratch_postgres("assist_tracker") as tracker_db:
        sup = Supervisor(
            env={
                "ASSIST_RASA_SERVERS": "2",
                "ASSIST_ENDPOINTS": "bot/endpoints-scale.yml",
                "ASSIST_DATABASE_URL": app_db,
                "ASSIST_TRACKER_URL": tracker_db,
                "ASSIST_REDIS_HOST": REDIS_HOST,
                "ASSIST_REDIS_PORT": REDIS_PORT,
                "ASSIST_LOCK_PREFIX": prefix,
            }
        )
        try:
            if not sup.ready.wait(600):
                pytest.fail("the scaled stack did not become ready:\n" + "".join(sup.output[-60:]))
            yield Scaled(sup, app_db, tracker_db, prefix)
        finally:
            sup.stop()
            client = redis.Redis(host=REDIS_HOST, port=int(REDIS_PORT), db=1)
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)


def test_two_pairs_of_servers_start_and_share_one_tracker_store(scaled: Scaled) -> None:
    said = "".join(scaled.sup.output)
    for name in ("actions-1", "actions-2", "rasa-1", "rasa-2", "web"):
        assert f">> {name} is ready" in said
    models = {requests.get(f"{url}/status", timeout=10).json()["model_id"] for url in scaled.sup.rasa}
    assert len(models) == 1  # the same trained model on both
    health = requests.get(f"{scaled.sup.web}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["knowledge"]["procedures"] > 0
    engine = create_engine(scaled.tracker_db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() is not None  # Rasa made its table here
    engine.dispose()


def test_one_conversation_alternating_between_servers_keeps_context_and_order(scaled: Scaled) -> None:
    me = sender()
    steps = [
        ("tôi muốn đăng ký khai sinh cho con", "all"),
        ("lệ phí bao nhiêu", "fee"),
        ("mất bao lâu", "time"),
        ("lệ phí bao nhiêu", "fee"),
    ]
    for number, (message, aspect) in enumerate(steps):
        card = payload(scaled.rasa_say(number % 2, me, message), "procedure")
        assert (card["code"], card["aspect"]) == ("1.001193", aspect), f"step {number} on rasa-{number % 2 + 1}"
    first, second = scaled.tracker(0, me), scaled.tracker(1, me)
    assert user_texts(first) == [message for message, _ in steps]
    assert [(e["event"], e.get("timestamp")) for e in first] == [(e["event"], e.get("timestamp")) for e in second]


def test_messages_arriving_while_another_is_handled_wait_their_turn(scaled: Scaled) -> None:
    """Each message is sent to the other server while the one before may still be in hand; it is sent
    only once the one before holds its ticket in the shared Redis lock (or has been answered), so the
    arrival order is known. Handled out of turn, a follow-up would not know the procedure."""
    me = sender()
    messages = ["tôi muốn đăng ký khai sinh cho con", "lệ phí bao nhiêu", "mất bao lâu", "lệ phí bao nhiêu"]
    lock = redis.Redis(host=REDIS_HOST, port=int(REDIS_PORT), db=1)
    key = f"{scaled.prefix}:lock:{me}"
    replies: list[list[dict[str, Any]] | None] = [None] * len(messages)

    def send(number: int) -> None:
        replies[number] = scaled.rasa_say(number % 2, me, messages[number])

    threads = []
    for number in range(len(messages)):
        thread = threading.Thread(target=send, args=(number,))
        thread.start()
        threads.append(thread)

        def all_in_line(upto: int = number) -> bool:
            waiting = sum(1 for r in replies[: upto + 1] if r is None)
            raw = lock.get(key)
            tickets = len(json.loads(raw)["tickets"]) if raw else 0
            return tickets >= waiting

        deadline = time.monotonic() + 120
        while not all_in_line():
            assert time.monotonic() < deadline, "a message never got its ticket"
            time.sleep(0.005)
    for thread in threads:
        thread.join(180)
    aspects = [payload(r or [], "procedure")["aspect"] for r in replies]
    assert aspects == ["all", "fee", "time", "fee"]
    events = scaled.tracker(1, me)
    assert user_texts(events) == messages
    kinds = [e["event"] for e in events if e["event"] in ("user", "bot")]
    for at, kind in enumerate(kinds):  # every message answered before the next one was taken up
        if kind == "user" and at + 1 < len(kinds):
            assert kinds[at + 1] == "bot", kinds


def test_a_filing_through_the_web_app_lands_in_postgres_and_either_server_finds_it(scaled: Scaled) -> None:
    me = sender()
    said = [
        "tôi muốn đăng ký khai sinh cho con",
        "tôi muốn nộp hồ sơ luôn",
        "Nguyễn Văn An",
        CCCD,
        "15/03/1990",
        PHONE,
        "Phường Đông Kinh",
        "centre",
    ]
    replies = [scaled.web_say(me, message) for message in said]
    draft = payload(replies[-1], "filing_draft")
    saved = Store(scaled.app_db).get_draft(draft["reference"])
    assert saved is not None and (saved.sender_id, saved.cccd, saved.phone) == (me, CCCD, PHONE)

    masked = [m.replace(CCCD, "001******345").replace(PHONE, "091****678") for m in said]
    assert user_texts(scaled.tracker(0, me)) == masked == user_texts(scaled.tracker(1, me))
    for server in (0, 1):
        status = payload(scaled.rasa_say(server, sender(), f"kiểm tra hồ sơ {draft['reference']}"), "status")
        assert (status["reference"], status["state"]) == (draft["reference"], "draft")


def test_the_retention_purge_works_on_the_postgres_tracker_store(scaled: Scaled) -> None:
    old, recent = sender(), sender()
    scaled.rasa_say(0, old, "xin chào")
    payload(scaled.rasa_say(1, recent, "tôi muốn đăng ký khai sinh cho con"), "procedure")
    engine = create_engine(scaled.tracker_db)
    with engine.begin() as conn:  # the first conversation took place four months ago
        conn.execute(text("UPDATE events SET timestamp = timestamp - 120 * 86400 WHERE sender_id = :s"), {"s": old})
    env = {"ASSIST_DATABASE_URL": scaled.app_db, "ASSIST_TRACKER_URL": scaled.tracker_db}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.purge"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    with engine.connect() as conn:
        left = dict(conn.execute(text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all())
    engine.dispose()
    assert old not in left and left[recent] > 0
    fee = payload(scaled.rasa_say(0, recent, "lệ phí bao nhiêu"), "procedure")
    assert (fee["code"], fee["aspect"]) == ("1.001193", "fee")  # what is left is what Rasa needs


def test_the_web_app_carries_on_through_the_other_server_when_one_dies(scaled: Scaled) -> None:
    """Runs last: it kills rasa-1 (the supervisor then starts it again)."""
    me = sender()
    assert payload(scaled.web_say(me, "tôi muốn đăng ký khai sinh cho con"), "procedure")["code"] == "1.001193"
    port = scaled.sup.rasa_ports[0]
    [pid] = [p for p, cmd in scaled.sup.children().items() if "rasa run" in cmd and f"--port {port}" in cmd]
    mark = len(scaled.sup.output)
    os.kill(pid, signal.SIGKILL)
    assert scaled.sup.wait_for_line("rasa-1 died", 30, after=mark)
    for message, aspect in (("lệ phí bao nhiêu", "fee"), ("mất bao lâu", "time"), ("lệ phí bao nhiêu", "fee")):
        card = payload(scaled.web_say(me, message), "procedure")  # no 503: the web app used rasa-2
        assert (card["code"], card["aspect"]) == ("1.001193", aspect)
    assert scaled.sup.proc.poll() is None
