"""Conversations: senders by last activity, a search over the (masked) texts, one transcript per sender."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from web.auth import guard
from web.console.common import not_found, store

bp = Blueprint("conversations", __name__, url_prefix="/console/conversations")
guard(bp)
SEARCH_CHARS = 200


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    query = " ".join(request.args.get("q", "").split())[:SEARCH_CHARS]
    conversations = store().conversations(search=query or None)
    matches = store().turns(search=query, limit=100) if query else []
    return render_template("console/conversations.html", q=query, conversations=conversations, matches=matches)


@bp.get("/<sender>")
def transcript(sender: str):  # type: ignore[no-untyped-def]
    turns = store().turns(sender_id=sender)
    if not turns:
        return not_found("Không có hội thoại này. / No such conversation.")
    return render_template(
        "console/transcript.html",
        sender=sender,
        turns=turns,
        rating=store().rating_of(sender),
        handoff=store().handoff_of(sender),
        drafts=store().drafts_of(sender),
    )
