"""The JSON API every client uses: POST /api/chat, POST /api/feedback, GET /api/chat/updates, GET /healthz.

Each chat turn is logged (numbers masked) for the staff console; the logging is best effort, so the
chat goes on when the app database is down and the reply then carries `"turn": null`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from actions.store import StoreUnavailable
from knowledge.text import detect_language
from web import rasa_client
from web.drafts import store_of
from web.errors import ApiError, error_response

bp = Blueprint("api", __name__)

LANGS = ("vi", "en", "bn")
# Sender ids are the only key to a conversation, so they must be unguessable: clients draw at least
# 16 random characters (the widget and kiosk use 32 hex digits from crypto.getRandomValues).
SENDER_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")


CHANNELS = ("kiosk", "portal")
THUMBS = {"up": 1, "down": -1}
NO_REPLY = {
    "vi": "Xin lỗi, trợ lý tạm thời chưa trả lời được. Bạn vui lòng gửi lại câu hỏi sau ít phút.",
    "en": "Sorry, the assistant is temporarily unavailable. Please send your question again in a moment.",
    "bn": "দুঃখিত, সহকারী সাময়িকভাবে উত্তর দিতে পারছে না। কিছুক্ষণ পরে আবার প্রশ্নটি পাঠান।",
}


# Control characters other than tab and line breaks.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _read_chat_request() -> tuple[str, str, str | None, str]:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send JSON with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    sender, message, lang = body.get("sender"), body.get("message"), body.get("lang")
    channel = body.get("channel", "portal")
    if not isinstance(sender, str) or not SENDER_RE.fullmatch(sender):
        raise ApiError(400, "bad_sender", "sender must be 16-128 letters, digits, '-' or '_'")
    if isinstance(message, str):
        message = CONTROL_CHARS.sub("", message)  # NUL and the like: no one types them, databases refuse NUL
    if not isinstance(message, str) or not message.strip():
        raise ApiError(400, "empty_message", "message must be non-empty text")
    limit = int(current_app.config["MAX_MESSAGE_CHARS"])
    if len(message) > limit:
        raise ApiError(413, "message_too_long", f"message is longer than {limit} characters")
    if lang is not None and lang not in LANGS:
        raise ApiError(400, "bad_lang", "lang must be one of vi, en, bn")
    if channel not in CHANNELS:
        raise ApiError(400, "bad_channel", "channel must be kiosk or portal")
    return sender, message.strip(), lang, channel


# The reply's payload types say what kind of turn it was; the first kind in KIND_ORDER that occurs wins.
KIND_OF_TYPE = {
    "procedure": "answered",
    "choices": "answered",
    "centre": "answered",
    "not_found": "not_found",
    "fallback": "fallback",
    "handoff": "handoff",
    "filing_draft": "filing",
    "ask": "filing",
    "error": "filing",  # the draft could not be saved
    "status": "status",
}
HANDOFF_SLOTS = ("callback_phone",)
KIND_ORDER = ("handoff", "fallback", "not_found", "filing", "status", "answered")
CODE_TYPES = ("procedure", "filing_draft")


def turn_kind(messages: list[dict[str, Any]]) -> tuple[str, str | None]:
    """(kind, procedure code) of a turn from the `custom` payloads of the bot's reply."""
    customs = [m["custom"] for m in messages if m.get("custom")]
    kinds = {KIND_OF_TYPE.get(str(c.get("type"))) for c in customs}
    if any(c.get("type") == "ask" and c.get("slot") in HANDOFF_SLOTS for c in customs):
        kinds.add("handoff")  # asking for the callback number is part of a handoff, not of a filing
    kind = next((k for k in KIND_ORDER if k in kinds), "other")
    codes = [c.get("code") for c in customs if c.get("type") in CODE_TYPES and isinstance(c.get("code"), str)]
    return kind, (codes[0] if codes else None)


def _reply_language(messages: list[dict[str, Any]], lang: str | None, text: str) -> str:
    """The conversation's language: as asked, else as the bot's card says, else detected from the reply."""
    if lang:
        return lang
    for message in messages:
        card_lang = (message.get("custom") or {}).get("lang")
        if card_lang in LANGS:
            return str(card_lang)
    bot_text = " ".join(m["text"] for m in messages if m.get("text"))
    return detect_language(bot_text) or detect_language(text) or "vi"


def _log_turn(sender: str, channel: str, lang: str | None, text: str, messages: list[dict[str, Any]]) -> int | None:
    kind, code = turn_kind(messages)
    bot_text = "\n".join(m["text"] for m in messages if m.get("text"))
    try:
        return store_of(current_app).log_turn(
            sender, channel, _reply_language(messages, lang, text), text, bot_text, kind, code
        )
    except StoreUnavailable as exc:
        current_app.logger.warning("chat turn not logged, app database unavailable: %s", exc)
        return None


def clean_message(message: dict[str, Any]) -> dict[str, Any]:
    given = message.get("buttons")
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in (given if isinstance(given, list) else [])
        if isinstance(b, dict)
    ]
    custom = message.get("custom")
    return {
        "text": message.get("text") if isinstance(message.get("text"), str) else None,
        "buttons": buttons,
        "custom": custom if isinstance(custom, dict) else None,
    }


def merge_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's REST channel sends an utterance's text and its custom payload as two messages; join them."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        custom_only = message["custom"] is not None and message["text"] is None and not message["buttons"]
        if custom_only and merged and merged[-1]["custom"] is None:
            merged[-1]["custom"] = message["custom"]
        else:
            merged.append(message)
    return merged


@bp.post("/api/chat")
def chat():  # type: ignore[no-untyped-def]
    sender, message, lang, channel = _read_chat_request()
    metadata = {"channel": channel, **({"lang": lang} if lang else {})}
    try:
        replies = rasa_client.send_message(
            current_app.config["RASA_URL"], sender, message, metadata, float(current_app.config["RASA_TIMEOUT_S"])
        )
    except rasa_client.RasaUnavailable as exc:
        current_app.logger.warning("rasa unavailable: %s", exc.__cause__ or exc)
        return error_response(
            503, "assistant_unavailable", "The assistant is temporarily unavailable. Please try again shortly."
        )
    messages = merge_messages([clean_message(m) for m in replies])
    if not messages:
        # Rasa answers every message; silence means an action failed (the action server is down or
        # restarting). The conversation itself is kept, so the citizen can simply ask again.
        current_app.logger.warning("no reply from the bot for sender %s", sender[:8])
        reply_lang = lang or detect_language(message) or "vi"
        messages = [{"text": NO_REPLY[reply_lang], "buttons": [], "custom": {"type": "unavailable"}}]
    return jsonify({"messages": messages, "turn": _log_turn(sender, channel, lang, message, messages)})


def _read_feedback() -> tuple[str, int | None, int | None, int | None]:
    """(sender, turn id, thumb, rating) of a feedback request, or an ApiError saying what is wrong."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send JSON with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER_RE.fullmatch(sender):
        raise ApiError(400, "bad_sender", "sender must be 16-128 letters, digits, '-' or '_'")
    if "rating" in body:
        rating = body["rating"]
        if "thumb" in body or "turn" in body:
            raise ApiError(400, "bad_feedback", "send either a thumb on a turn or a rating, not both")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise ApiError(400, "bad_rating", "rating must be a whole number from 1 to 5")
        return sender, None, None, rating
    turn, thumb = body.get("turn"), body.get("thumb")
    if not isinstance(turn, int) or isinstance(turn, bool) or turn < 1:
        raise ApiError(400, "bad_turn", "turn must be the id of an answer, as /api/chat returned it")
    if not isinstance(thumb, str) or thumb not in THUMBS:
        raise ApiError(400, "bad_thumb", "thumb must be up or down")
    return sender, turn, THUMBS[thumb], None


@bp.post("/api/feedback")
def feedback():  # type: ignore[no-untyped-def]
    """A thumb up or down on one answer, or a 1-5 rating at the end of a conversation."""
    sender, turn, thumb, rating = _read_feedback()
    try:
        store_of(current_app).add_feedback(sender, turn_id=turn, thumb=thumb, rating=rating)
    except KeyError:
        raise ApiError(404, "not_found", "this conversation has no answer with that turn id") from None
    except StoreUnavailable as exc:
        current_app.logger.warning("app database unavailable: %s", exc)
        return error_response(503, "database_unavailable", "Feedback cannot be saved right now. Thank you anyway.")
    return jsonify({"ok": True}), 201


@bp.get("/api/chat/updates")
def updates():  # type: ignore[no-untyped-def]
    """Messages staff wrote to this conversation since the last call (the client polls during a handoff)."""
    sender = request.args.get("sender", "")
    if not SENDER_RE.fullmatch(sender):
        raise ApiError(400, "bad_sender", "sender must be 16-128 letters, digits, '-' or '_'")
    try:
        pending = store_of(current_app).take_staff_messages(sender)
    except StoreUnavailable as exc:
        current_app.logger.warning("app database unavailable: %s", exc)
        return error_response(503, "database_unavailable", "Messages from staff cannot be fetched right now.")
    return jsonify({"messages": [{"from": "staff", "author": author, "text": text} for author, text in pending]})


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    timeout = float(current_app.config["HEALTH_TIMEOUT_S"])
    # RASA_URL and ACTIONS_URL may each name several servers (README, "Scaling out"): one healthy is enough.
    rasa_ok, rasa_body = rasa_client.probe_any(current_app.config["RASA_URL"], "/status", timeout)
    actions_ok, actions_body = rasa_client.probe_any(current_app.config["ACTIONS_URL"], "/health", timeout)
    knowledge_ok, knowledge_body = rasa_client.probe_any(
        current_app.config["ACTIONS_URL"], "/health/knowledge", timeout
    )
    rasa_ok = rasa_ok and isinstance(rasa_body, dict) and bool(rasa_body.get("model_id"))
    body: dict[str, Any] = {
        "rasa": {"status": "ok", "model": rasa_body.get("model_id")}
        if rasa_ok
        else {"status": "down", "detail": rasa_body},
        "actions": {"status": "ok"} if actions_ok else {"status": "down", "detail": actions_body},
        "knowledge": (
            {"procedures": knowledge_body.get("procedures"), "model": knowledge_body.get("model")}
            if knowledge_ok
            else {"status": "down", "detail": knowledge_body}
        ),
    }
    down = [name for name, ok in (("rasa", rasa_ok), ("actions", actions_ok), ("knowledge", knowledge_ok)) if not ok]
    body["status"] = "ok" if not down else "down"
    if down:
        body["down"] = down
    return jsonify(body), 200 if not down else 503
