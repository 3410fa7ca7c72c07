"""POST /api/chat, POST /api/feedback and GET /healthz: the contract every client relies on, each turn
logged with numbers masked (and the chat going on when the app database is down), feedback only on
one's own answers, and one JSON error shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DRAFT_DETAILS
from web import rasa_client
from web.api import turn_kind
from web.drafts import store_of


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
    response = client.post("/api/chat", json={"sender": "citizen-0001-4f7e2a", "message": " khai sinh ", "lang": "en"})
    assert response.status_code == 200
    assert sent == [
        {"sender": "citizen-0001-4f7e2a", "message": "khai sinh", "metadata": {"lang": "en", "channel": "portal"}}
    ]
    assert response.get_json() == {
        "turn": 1,
        "messages": [
            {
                "text": "Đăng ký khai sinh (mã 1.001193)",
                "buttons": [],
                "custom": {"type": "procedure", "code": "1.001193"},
            },
            {"text": "Which?", "buttons": [{"title": "A", "payload": "/choose_procedure"}], "custom": None},
        ],
    }


def test_lang_is_optional_and_the_kiosk_says_where_it_is(client, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    sent, _ = rasa_replies
    assert client.post("/api/chat", json={"sender": "citizen-0001-4f7e2a", "message": "hi"}).status_code == 200
    assert sent[0]["metadata"] == {"channel": "portal"}  # no lang: the bot detects it
    body = {"sender": "citizen-0001-4f7e2a", "message": "hi", "channel": "kiosk"}
    assert client.post("/api/chat", json=body).status_code == 200
    assert sent[1]["metadata"] == {"channel": "kiosk"}
    assert _error(client.post("/api/chat", json={**body, "channel": "tv"}))["code"] == "bad_channel"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"sender": "citizen-0001-4f7e2a"}, 400, "empty_message"),
        ({"sender": "citizen-0001-4f7e2a", "message": "   "}, 400, "empty_message"),
        ({"sender": "citizen-0001-4f7e2a", "message": 42}, 400, "empty_message"),
        ({"sender": "citizen-0001-4f7e2a", "message": "\x00\x07 \x1b"}, 400, "empty_message"),
        ({"message": "hi"}, 400, "bad_sender"),
        ({"sender": "a b<script>", "message": "hi"}, 400, "bad_sender"),
        ({"sender": "short", "message": "hi"}, 400, "bad_sender"),
        ({"sender": "citizen-0001-4f7e2a", "message": "hi", "lang": "fr"}, 400, "bad_lang"),
        ({"sender": "citizen-0001-4f7e2a", "message": "x" * 1001}, 413, "message_too_long"),
        (["not", "an", "object"], 400, "bad_json"),
    ],
)
def test_bad_requests_get_one_error_shape(client, body, status, code) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/chat", json=body)
    assert response.status_code == status
    assert _error(response)["code"] == code


def test_control_characters_are_dropped_before_the_bot_sees_the_message(client, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    sent, _ = rasa_replies
    body = {"sender": "citizen-0001-4f7e2a", "message": "đăng ký\x00 khai\x1b sinh\x7f\tcho con"}
    assert client.post("/api/chat", json=body).status_code == 200
    assert sent[0]["message"] == "đăng ký khai sinh\tcho con"


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
    response = client.post("/api/chat", json={"sender": "citizen-0001-4f7e2a", "message": "khai sinh"})
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


def test_silence_from_the_bot_becomes_a_polite_unavailable_reply(client, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    # Rasa replies with nothing when an action fails, e.g. while the action server restarts.
    response = client.post("/api/chat", json={"sender": "citizen-0001-4f7e2a", "message": "how much is a passport"})
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
    handoff = store.open_handoff("citizen-0001-4f7e2a", "portal", "vi", "0912345678")
    store.post_staff_message(handoff.id, "Lan", "Chị sẽ gọi lại trong 5 phút")
    assert client.get("/api/chat/updates?sender=someone-else-0001-9c").get_json() == {"messages": []}
    body = client.get("/api/chat/updates?sender=citizen-0001-4f7e2a").get_json()
    assert body == {"messages": [{"from": "staff", "author": "Lan", "text": "Chị sẽ gọi lại trong 5 phút"}]}
    assert client.get("/api/chat/updates?sender=citizen-0001-4f7e2a").get_json() == {"messages": []}
    assert _error(client.get("/api/chat/updates?sender=<x>"))["code"] == "bad_sender"


# -- chat log: every turn stored masked, with its kind; the chat goes on without the database ---------

SENDER = "citizen-0001-kiosk-a"


def test_each_turn_is_logged_masked_and_its_id_returned(client, app, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    _, replies = rasa_replies
    replies += [
        {"recipient_id": "s", "text": "Đăng ký khai sinh (mã 1.001193)"},
        {"recipient_id": "s", "custom": {"type": "procedure", "code": "1.001193", "lang": "vi"}},
        {"recipient_id": "s", "text": "Bạn cần gì thêm?"},
    ]
    body = {"sender": SENDER, "message": "khai sinh, CCCD 001090012345, gọi 0912345678", "channel": "kiosk"}
    response = client.post("/api/chat", json=body)
    turn_id = response.get_json()["turn"]
    turn = store_of(app).turn(turn_id)
    assert turn is not None and turn.sender_id == SENDER
    assert turn.user_text == "khai sinh, CCCD 001******345, gọi 091****678"
    assert turn.bot_text == "Đăng ký khai sinh (mã 1.001193)\nBạn cần gì thêm?"
    assert (turn.kind, turn.procedure_code, turn.channel, turn.language) == ("answered", "1.001193", "kiosk", "vi")


def test_without_lang_the_turn_takes_the_language_of_the_reply(client, app, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    _, replies = rasa_replies
    replies.append(
        {"recipient_id": "s", "text": "Sorry, I could not find that procedure. Would you like to talk to staff?"}
    )
    replies.append({"recipient_id": "s", "custom": {"type": "not_found"}})
    turn_id = client.post("/api/chat", json={"sender": SENDER, "message": "1.999999"}).get_json()["turn"]
    turn = store_of(app).turn(turn_id)
    assert turn is not None and (turn.language, turn.kind, turn.procedure_code) == ("en", "not_found", None)


@pytest.mark.parametrize(
    ("types", "kind"),
    [
        ([], "other"),
        (["language"], "other"),
        (["procedure"], "answered"),
        (["choices"], "answered"),
        (["not_found"], "not_found"),
        (["fallback"], "fallback"),
        (["ask"], "filing"),
        (["filing_draft"], "filing"),
        (["status"], "status"),
        (["unavailable"], "other"),
        (["procedure", "fallback"], "fallback"),
        (["fallback", "handoff"], "handoff"),  # offered staff, and the request is made
    ],
)
def test_the_kind_of_a_turn_comes_from_the_reply_payloads(types: list[str], kind: str) -> None:
    messages = [{"text": "t", "buttons": [], "custom": {"type": t}} for t in types] + [
        {"text": "plain", "buttons": [], "custom": None}
    ]
    assert turn_kind(messages)[0] == kind


def test_asking_for_a_callback_number_is_part_of_a_handoff_and_other_questions_of_a_filing() -> None:
    def asking(slot: str) -> list[dict[str, Any]]:
        return [{"text": "?", "buttons": [], "custom": {"type": "ask", "slot": slot}}]

    assert turn_kind(asking("callback_phone"))[0] == "handoff"
    assert turn_kind(asking("cccd"))[0] == "filing"


def test_the_filing_code_is_kept_with_the_turn() -> None:
    messages = [
        {
            "text": "Saved",
            "buttons": [],
            "custom": {"type": "filing_draft", "code": "1.001193", "reference": "K7Q2M9XD"},
        }
    ]
    assert turn_kind(messages) == ("filing", "1.001193")


def test_chat_goes_on_when_the_app_database_is_down(app, client, rasa_replies) -> None:  # type: ignore[no-untyped-def]
    _, replies = rasa_replies
    replies.append({"recipient_id": "s", "text": "Xin chào!"})
    app.config["DATABASE_URL"] = "postgresql+psycopg2://postgres@127.0.0.1:9/nothing"  # nothing listens
    response = client.post("/api/chat", json={"sender": SENDER, "message": "xin chào"})
    assert response.status_code == 200
    assert response.get_json() == {"messages": [{"text": "Xin chào!", "buttons": [], "custom": None}], "turn": None}


# -- feedback --------------------------------------------------------------------------------------


@pytest.fixture
def turn(app) -> int:  # type: ignore[no-untyped-def]
    return store_of(app).log_turn(SENDER, "portal", "vi", "hộ chiếu", "Không tìm thấy", "not_found")


def test_thumbs_and_rating_are_stored(client, app, turn) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/feedback", json={"sender": SENDER, "turn": turn, "thumb": "down"})
    assert response.status_code == 201 and response.get_json() == {"ok": True}
    assert [t.id for t in store_of(app).unanswered()] == [turn]
    found = store_of(app).turn(turn)
    assert found is not None and found.thumb == -1
    assert client.post("/api/feedback", json={"sender": SENDER, "turn": turn, "thumb": "up"}).status_code == 201
    found = store_of(app).turn(turn)
    assert found is not None and found.thumb == 1  # changed her mind: one thumb per answer
    assert client.post("/api/feedback", json={"sender": SENDER, "rating": 4}).status_code == 201
    assert store_of(app).rating_of(SENDER) == 4


def test_only_the_conversation_that_owns_a_turn_can_rate_it(client, app, turn) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/feedback", json={"sender": "someone-else-0001", "turn": turn, "thumb": "down"})
    assert response.status_code == 404 and _error(response)["code"] == "not_found"
    response = client.post("/api/feedback", json={"sender": SENDER, "turn": turn + 100, "thumb": "down"})
    assert response.status_code == 404
    found = store_of(app).turn(turn)
    assert found is not None and found.thumb is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"turn": 1, "thumb": "up"}, "bad_sender"),
        ({"sender": SENDER, "turn": 1, "thumb": "sideways"}, "bad_thumb"),
        ({"sender": SENDER, "turn": "1", "thumb": "up"}, "bad_turn"),
        ({"sender": SENDER, "turn": True, "thumb": "up"}, "bad_turn"),
        ({"sender": SENDER, "thumb": "up"}, "bad_turn"),
        ({"sender": SENDER, "rating": 0}, "bad_rating"),
        ({"sender": SENDER, "rating": 6}, "bad_rating"),
        ({"sender": SENDER, "rating": 4.5}, "bad_rating"),
        ({"sender": SENDER, "rating": "5"}, "bad_rating"),
        ({"sender": SENDER, "rating": 5, "turn": 1, "thumb": "up"}, "bad_feedback"),
        ([1, 2], "bad_json"),
    ],
)
def test_bad_feedback_gets_the_one_error_shape(client, body, code) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/feedback", json=body)
    assert response.status_code == 400 and _error(response)["code"] == code


def test_feedback_wants_json_and_a_working_database(client, app, turn) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/feedback", data="rating=5", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"
    assert _error(client.get("/api/feedback"))["code"] == "method_not_allowed"
    app.config["DATABASE_URL"] = "postgresql+psycopg2://postgres@127.0.0.1:9/nothing"
    response = client.post("/api/feedback", json={"sender": SENDER, "rating": 5})
    assert response.status_code == 503 and _error(response)["code"] == "database_unavailable"


def test_an_unexpected_failure_is_still_the_json_shape(app_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web import create_app

    def broken(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        raise RuntimeError("bug")

    monkeypatch.setattr(rasa_client, "send_message", broken)
    client = create_app({**app_config, "TESTING": False, "SECRET_KEY": "k" * 64}).test_client()
    response = client.post("/api/chat", json={"sender": SENDER, "message": "hi"})
    assert response.status_code == 500 and _error(response)["code"] == "internal_server_error"


def test_feedback_with_a_thumb_that_is_not_text_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    """Found by the fuzz test: a list or object as the thumb must be a 400, not a crash."""
    for thumb in ([], {"up": 1}, 1, None):
        response = client.post("/api/feedback", json={"sender": "a" * 16 + "thumbs", "turn": 1, "thumb": thumb})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "bad_thumb"
