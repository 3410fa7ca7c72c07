"""Test intents: how the bot reads a message (intent ranking, entities), what the knowledge search
finds (top 5 with scores and the verdict), and the reply the bot would give; nothing is logged."""

from __future__ import annotations

import secrets
from typing import Any

import requests
from flask import Blueprint, current_app, render_template, request

from web import rasa_client
from web.api import CHANNELS, LANGS, clean_message, merge_messages
from web.auth import guard

bp = Blueprint("console", __name__, url_prefix="/console")
guard(bp)


class SearchUnavailable(RuntimeError):
    """The action server's knowledge search did not answer; the message is safe to show."""


def search_knowledge(actions_url: str, text: str, timeout: float, k: int = 5) -> dict[str, Any]:
    """The action server's `GET /search`: codes, titles, scores and the verdict."""
    base = actions_url.split(",")[0].strip().rstrip("/")
    try:
        reply = requests.get(f"{base}/search", params={"q": text, "k": str(k)}, timeout=timeout)
    except requests.RequestException as exc:
        raise SearchUnavailable("the action server is not reachable right now") from exc
    try:
        body = reply.json()
    except ValueError as exc:
        raise SearchUnavailable(f"the action server answered with status {reply.status_code}") from exc
    if reply.status_code != 200 or not isinstance(body, dict):
        detail = body.get("error") or body.get("status") if isinstance(body, dict) else None
        raise SearchUnavailable(f"the knowledge search answered {reply.status_code}: {detail or 'no detail'}")
    return body


def bot_reply(text: str, lang: str, channel: str) -> list[dict[str, Any]]:
    """What the bot answers, in a throwaway conversation of its own (never logged as a citizen's)."""
    config = current_app.config
    metadata = {"channel": channel, **({"lang": lang} if lang else {})}
    sender = f"console-{secrets.token_hex(8)}"
    replies = rasa_client.send_message(config["RASA_URL"], sender, text, metadata, float(config["RASA_TIMEOUT_S"]))
    return merge_messages([clean_message(m) for m in replies])


@bp.route("/", methods=["GET", "POST"])
def test_intents():  # type: ignore[no-untyped-def]
    config = current_app.config
    text = (request.form.get("text") or "").strip()
    lang = request.form.get("lang", "") if request.form.get("lang") in LANGS else ""
    channel = request.form.get("channel", "") if request.form.get("channel") in CHANNELS else "portal"
    out: dict[str, Any] = {"text": text, "lang": lang, "channel": channel, "errors": {}}
    if request.method == "POST":
        limit = int(config["MAX_MESSAGE_CHARS"])
        if not text:
            out["errors"]["text"] = "Hãy nhập một câu. / Type a message."
        elif len(text) > limit:
            out["errors"]["text"] = f"Câu quá dài. / The message is longer than {limit} characters."
        else:
            timeout = float(config["RASA_TIMEOUT_S"])
            try:
                out["parse"] = rasa_client.parse(config["RASA_URL"], text, timeout)
            except rasa_client.RasaUnavailable as exc:
                out["errors"]["parse"] = str(exc)
            try:
                out["search"] = search_knowledge(config["ACTIONS_URL"], text, timeout)
            except SearchUnavailable as exc:
                out["errors"]["search"] = str(exc)
            try:
                out["reply"] = bot_reply(text, lang, channel)
            except rasa_client.RasaUnavailable as exc:
                out["errors"]["reply"] = str(exc)
    status = 400 if "text" in out["errors"] else 200
    return render_template("console/intents.html", **out), status
