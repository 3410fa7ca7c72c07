"""The JSON API every client uses: POST /api/chat and GET /healthz."""

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
SENDER_RE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


CHANNELS = ("kiosk", "portal")
NO_REPLY = {
    "vi": "Xin lỗi, trợ lý tạm thời chưa trả lời được. Bạn vui lòng gửi lại câu hỏi sau ít phút.",
    "en": "Sorry, the assistant is temporarily unavailable. Please send your question again in a moment.",
    "bn": "দুঃখিত, সহকারী সাময়িকভাবে উত্তর দিতে পারছে না। কিছুক্ষণ পরে আবার প্রশ্নটি পাঠান।",
}


def _read_chat_request() -> tuple[str, str, str | None, str]:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send JSON with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    sender, message, lang = body.get("sender"), body.get("message"), body.get("lang")
    channel = body.get("channel", "portal")
    if not isinstance(sender, str) or not SENDER_RE.match(sender):
        raise ApiError(400, "bad_sender", "sender must be 8-128 letters, digits, '-' or '_'")
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


def _clean(message: dict[str, Any]) -> dict[str, Any]:
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in message.get("buttons") or []
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
    messages = merge_messages([_clean(m) for m in replies])
    if not messages:
        # Rasa answers every message; silence means an action failed (the action server is down or
        # restarting). The conversation itself is kept, so the citizen can simply ask again.
        current_app.logger.warning("no reply from the bot for sender %s", sender[:8])
        reply_lang = lang or detect_language(message) or "vi"
        messages = [{"text": NO_REPLY[reply_lang], "buttons": [], "custom": {"type": "unavailable"}}]
    return jsonify({"messages": messages})


@bp.get("/api/chat/updates")
def updates():  # type: ignore[no-untyped-def]
    """Messages staff wrote to this conversation since the last call (the client polls during a handoff)."""
    sender = request.args.get("sender", "")
    if not SENDER_RE.match(sender):
        raise ApiError(400, "bad_sender", "sender must be 8-128 letters, digits, '-' or '_'")
    try:
        pending = store_of(current_app).take_staff_messages(sender)
    except StoreUnavailable as exc:
        current_app.logger.warning("app database unavailable: %s", exc)
        return error_response(503, "database_unavailable", "Messages from staff cannot be fetched right now.")
    return jsonify({"messages": [{"from": "staff", "author": author, "text": text} for author, text in pending]})


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    timeout = float(current_app.config["HEALTH_TIMEOUT_S"])
    rasa_ok, rasa_body = rasa_client.probe(current_app.config["RASA_URL"] + "/status", timeout)
    actions_ok, actions_body = rasa_client.probe(current_app.config["ACTIONS_URL"] + "/health", timeout)
    knowledge_ok, knowledge_body = rasa_client.probe(current_app.config["ACTIONS_URL"] + "/health/knowledge", timeout)
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
