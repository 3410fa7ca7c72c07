"""Unanswered: messages the bot fell back on, did not find, or that got a thumbs-down; staff tick some,
choose an intent and download them as Rasa NLU training data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from web.auth import guard
from web.console.common import store
from web.console.nlu_export import DomainError, domain_intents, nlu_yaml

bp = Blueprint("unanswered", __name__, url_prefix="/console/unanswered")
guard(bp)


def bot_domain() -> Path:
    return Path(current_app.root_path).parent / "bot" / "domain"


def _intents() -> tuple[list[str], str | None]:
    try:
        return domain_intents(bot_domain()), None
    except DomainError as exc:
        current_app.logger.error("bot domain unreadable: %s", exc)
        return [], f"Không đọc được danh sách ý định. / The intents cannot be read: {exc}"


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    intents, error = _intents()
    return render_template("console/unanswered.html", turns=store().unanswered(), intents=intents, error=error)


@bp.post("/export")
def export():  # type: ignore[no-untyped-def]
    intent = request.form.get("intent", "")
    # ASCII digits only, and few: "²".isdigit() is true and int() refuses more than 4300 digits.
    ids = [
        int(value) for value in request.form.getlist("turn") if value.isascii() and value.isdigit() and len(value) < 19
    ]
    intents, _ = _intents()
    if intent not in intents:
        flash("Hãy chọn một ý định của bot. / Choose one of the bot's intents.", "error")
        return redirect(url_for("unanswered.index"))
    turns = store().turns(ids=ids) if ids else []
    try:
        body = nlu_yaml(intent, (turn.user_text for turn in turns))
    except ValueError:
        flash("Hãy đánh dấu ít nhất một câu. / Tick at least one message.", "error")
        return redirect(url_for("unanswered.index"))
    stamp = dt.date.today().isoformat()
    return Response(
        body,
        mimetype="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="nlu-{intent}-{stamp}.yml"'},
    )
