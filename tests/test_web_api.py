"""POST /api/chat and GET /healthz: the contract every client relies on, and one JSON error shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DRAFT_DETAILS
from web import rasa_client


def _error(response) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]


@pytest.fixture
def rasa_replies(monkeypatch):  # type: ignore[no-untyped-def]
    """Stand in for Rasa's REST channel and record what the web app sent."""
    sent: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []

    def fake_send(rasa_url: str, sender: str, message: str, metadata: dict[str, Any], timeout: float):  # type: ignore[no-untyped-def]
        sent.append({"sender": sender, "message": message, "metadata": metadata})
        return replies

    monkeypatch.setattr(rasa_client, "send_message", fake_send)
    return sent, replies


def test_chat_passes_message_and_language_and_joins_card_to_text(client, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    sent, replies = rasa_replies
    replies += [
        {"recipient_id": "s", "text": "Đăng ký khai sinh (mã 1.001193)"},
        {"recipient_id": "s", "custom": {"type": "procedure", "code": "1.001193"}},
        {"recipient_id": "s", "text": "Which?", "buttons": [{"title": "A", "payload": "/choose_procedure"}]},
    ]
    response = client.post("/api/chat", json={"sender": "citizen-0001", "message": " khai sinh ", "lang": "en"})
    assert response.status_code == 200
    assert sent == [{"sender": "citizen-0001", "message": "khai sinh", "metadata": {"lang": "en", "channel": "portal"}}]
    assert response.get_json() == {
        "messages": [
            {
                "text": "Đăng ký khai sinh (mã 1.001193)",
                "buttons": [],
                "custom": {"type": "procedure", "code": "1.001193"},
            },
            {"text": "Which?", "buttons": [{"title": "A", "payload": "/choose_procedure"}], "custom": None},
        ]
    }


def test_lang_is_optional_and_the_kiosk_says_where_it_is(client, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    sent, _ = rasa_replies
    assert client.post("/api/chat", json={"sender": "citizen-0001", "message": "hi"}).status_code == 200
    assert sent[0]["metadata"] == {"channel": "portal"}  # no lang: the bot detects it
    body = {"sender": "citizen-0001", "message": "hi", "channel": "kiosk"}
    assert client.post("/api/chat", json=body).status_code == 200
    assert sent[1]["metadata"] == {"channel": "kiosk"}
    assert _error(client.post("/api/chat", json={**body, "channel": "tv"}))["code"] == "bad_channel"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sender": "citizen-0001"}, 400, "empty_message"),
        ({"sender": "citizen-0001", "message": "   "}, 400, "empty_message"),
        ({"sender": "citizen-0001", "message": 42}, 400, "empty_message"),
        ({"message": "hi"}, 400, "bad_sender"),
        ({"sender": "a b<script>", "message": "hi"}, 400, "bad_sender"),
        ({"sender": "short", "message": "hi"}, 400, "bad_sender"),
        ({"sender": "citizen-0001", "message": "hi", "lang": "fr"}, 400, "bad_lang"),
        ({"sender": "citizen-0001", "message": "x" * 1001}, 413, "message_too_long"),
        (["not", "an", "object"], 400, "bad_json"),
    ],
)
def test_bad_requests_get_one_error_shape(client, body, status, code) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/chat", json=body)
    assert response.status_code == status
    assert _error(response)["code"] == code


def test_broken_json_and_wrong_content_type(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/chat", data="{broken", content_type="application/json")
    assert response.status_code == 400 and _error(response)["code"] == "bad_json"
    response = client.post("/api/chat", data="message=hi", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"


def test_unknown_api_route_and_method_are_json(client) -> None:  # type: ignore[no-untyped-def]
    assert _error(client.get("/api/nothing"))["code"] == "not_found"
    response = client.get("/api/chat")
    assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"


def test_rasa_down_gives_503_not_a_crash(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/chat", json={"sender": "citizen-0001", "message": "khai sinh"})
    assert response.status_code == 503
    assert _error(response)["code"] == "assistant_unavailable"


def test_healthz_names_what_is_down(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "down" and body["down"] == ["rasa", "actions", "knowledge"]


def test_pages_are_served(client) -> None:  # type: ignore[no-untyped-def]
    kiosk = client.get("/kiosk")
    assert kiosk.status_code == 200 and b'id="assist-chat"' in kiosk.data and b"<script>" not in kiosk.data
    assert b'data-mode="widget"' in client.get("/widget-demo").data
    assert client.get("/static/assist-chat.js").status_code == 200
    assert client.get("/").status_code == 302


def test_console_reports_rasa_down(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/console/", data={"text": "khai sinh"})
    assert response.status_code == 200 and b"not reachable" in response.data


def test_silence_from_the_bot_becomes_a_polite_unavailable_reply(client, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    # Rasa replies with nothing when an action fails, e.g. while the action server restarts.
    response = client.post("/api/chat", json={"sender": "citizen-0001", "message": "how much is a passport"})
    assert response.status_code == 200
    [message] = response.get_json()["messages"]
    assert message["custom"] == {"type": "unavailable"} and message["text"].startswith("Sorry")


# -- drafts: QR code, print view, staff messages ----------------------------------------------------


@pytest.fixture
def store(app, tmp_path):  # type: ignore[no-untyped-def]
    from actions.store import shared_store

    url = f"sqlite:///{tmp_path / 'app.db'}"
    app.config["DATABASE_URL"] = url
    return shared_store(url)


DRAFT = {**DRAFT_DETAILS, "language": "en", "full_name": "Nguyễn Văn <b>An</b>"}


def test_qr_code_of_a_draft_is_an_svg(client, store) -> None:  # type: ignore[no-untyped-def]
    draft = store.create_draft(**DRAFT)
    response = client.get(f"/qr/{draft.reference}.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<?xml") and b"<svg" in response.data
    assert _error(client.get("/qr/ZZZZ2222.svg"))["code"] == "not_found"
    offline = store.create_draft(**{**DRAFT, "portal_url": None, "online": "none"})
    assert _error(client.get(f"/qr/{offline.reference}.svg"))["code"] == "not_online"


def test_print_view_shows_the_checklist_with_numbers_masked_and_text_escaped(client, store) -> None:  # type: ignore[no-untyped-def]
    draft = store.create_draft(**DRAFT)
    page = client.get(f"/print/{draft.reference.lower()}").get_data(as_text=True)
    assert draft.reference in page and "Birth registration" in page
    assert "Birth registration declaration form" in page  # the checklist, in the draft's language
    assert "001090012345" not in page and "001******345" in page and "091****678" in page
    assert "<b>An</b>" not in page and "&lt;b&gt;An&lt;/b&gt;" in page
    assert f"/qr/{draft.reference}.svg" in page


def test_staff_messages_reach_only_their_conversation_once(client, store) -> None:  # type: ignore[no-untyped-def]
    handoff = store.open_handoff("citizen-0001", "portal", "vi", "0912345678")
    store.post_staff_message(handoff.id, "Lan", "Chị sẽ gọi lại trong 5 phút")
    assert client.get("/api/chat/updates?sender=someone-else-01").get_json() == {"messages": []}
    body = client.get("/api/chat/updates?sender=citizen-0001").get_json()
    assert body == {"messages": [{"from": "staff", "author": "Lan", "text": "Chị sẽ gọi lại trong 5 phút"}]}
    assert client.get("/api/chat/updates?sender=citizen-0001").get_json() == {"messages": []}
    assert _error(client.get("/api/chat/updates?sender=<x>"))["code"] == "bad_sender"
